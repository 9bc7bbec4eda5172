// nx::Tensor: an immutable n-dimensional array with a shape, a dtype and a shared buffer.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "nx/dtype.hpp"
#include "nx/error.hpp"
#include "nx/shape.hpp"

namespace nx {

/// Shape and dtype without data: what Nx calls a template.
struct TensorType {
  Shape shape{};
  DType dtype = DType::F32;
  bool operator==(const TensorType&) const = default;
};
/// "f32[2][3]".
std::string type_string(const TensorType& t);

namespace detail {
struct TensorImpl;
}

/// How printing elides large tensors.
struct PrintOptions {
  int64_t limit = 50;  ///< Elements shown per axis before "..." (Nx's :limit).
};

/// An n-dimensional array. Tensors have value semantics: every op returns a new tensor, and a
/// buffer shared between tensors is never written after it is made. Copying a Tensor is cheap
/// (it copies a reference). Data is stored contiguously in row-major order.
///
/// A C++ number converts implicitly to a *weakly typed* scalar tensor, as numbers do in Nx and
/// JAX: `x + 1` keeps x's dtype, `int_tensor * 0.5` is f32.
class Tensor {
 public:
  /// An empty handle. Every op rejects it with nx::Error.
  Tensor() = default;

  /// A weakly typed scalar: integers become s32 (s64 when 64-bit), floats f32, bools pred.
  /// A weak float keeps its exact value, so `f64_tensor + 0.1` adds the double 0.1.
  template <class T, std::enable_if_t<std::is_arithmetic_v<T>, int> = 0>
  Tensor(T value);  // NOLINT(google-explicit-constructor)

  /// Whether this handle holds a tensor.
  bool defined() const { return impl_ != nullptr; }
  /// Dimension sizes.
  const Shape& shape() const;
  /// Element type.
  DType dtype() const;
  /// Shape and dtype together.
  TensorType type() const;
  /// Number of dimensions.
  int64_t rank() const;
  /// Number of elements.
  int64_t size() const;
  /// Size of one axis (negative counts from the end).
  int64_t axis_size(int64_t axis) const;
  /// Bytes of data: size() * byte_size(dtype()).
  int64_t byte_size() const;
  /// True for a weakly typed scalar made from a C++ number (see the class comment).
  bool is_weak() const;
  /// True when the tensor is a template: a shape and dtype with no data.
  bool is_template() const;
  /// True inside nx::jit, nx::grad and control-flow bodies for tensors that stand for values
  /// computed later: they have a shape and dtype, every op accepts them, but their data cannot be
  /// read (raw_data, item and to_vector throw nx::Error).
  bool is_traced() const;

  /// The raw bytes (row-major). Throws for a template.
  const void* raw_data() const;
  /// Typed pointer to the data; throws nx::Error if T does not store dtype().
  template <class T>
  const T* data() const;
  /// The single element of a one-element tensor, converted to T.
  template <class T>
  T item() const;
  /// All elements in row-major order, converted to T.
  template <class T>
  std::vector<T> to_vector() const;

  /// Nx-style rendering: dtype, shape and values, elided past `opts.limit` per axis.
  std::string to_string(const PrintOptions& opts = {}) const;

  /// Internal: how many handles share this tensor's record (a compiled function reuses the
  /// buffer of a donated argument only when the caller handed over the last handle).
  long use_count() const { return impl_.use_count(); }
  /// Internal: the implementation record (never null for a defined tensor).
  detail::TensorImpl* impl() const { return impl_.get(); }
  /// Internal: wraps an implementation record.
  explicit Tensor(std::shared_ptr<detail::TensorImpl> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<detail::TensorImpl> impl_;
};

/// Prints `t.to_string()`.
std::ostream& operator<<(std::ostream& os, const Tensor& t);

namespace detail {
Tensor make_scalar_bits(const void* value, DType dtype, bool weak);
Tensor make_weak_float(double value);
double element_as_double(const Tensor& t, int64_t index);
int64_t element_as_int64(const Tensor& t, int64_t index);
uint64_t element_as_uint64(const Tensor& t, int64_t index);
[[noreturn]] void throw_data_dtype(const Tensor& t, DType wanted);
const void* checked_raw_data(const Tensor& t);
}  // namespace detail

template <class T, std::enable_if_t<std::is_arithmetic_v<T>, int>>
Tensor::Tensor(T value) {
  if constexpr (std::is_same_v<T, bool>) {
    *this = detail::make_scalar_bits(&value, DType::Pred, true);
  } else if constexpr (std::is_floating_point_v<T>) {
    *this = detail::make_weak_float(static_cast<double>(value));
  } else if constexpr (sizeof(T) <= 4 && (std::is_signed_v<T> || sizeof(T) < 4)) {
    int32_t v = static_cast<int32_t>(value);
    *this = detail::make_scalar_bits(&v, DType::S32, true);
  } else if constexpr (std::is_signed_v<T>) {
    int64_t v = static_cast<int64_t>(value);
    *this = detail::make_scalar_bits(&v, DType::S64, true);
  } else {
    uint64_t v = static_cast<uint64_t>(value);
    *this = detail::make_scalar_bits(&v, sizeof(T) == 4 ? DType::U32 : DType::U64, true);
  }
}

template <class T>
const T* Tensor::data() const {
  if (dtype() != dtype_of<T>()) detail::throw_data_dtype(*this, dtype_of<T>());
  return static_cast<const T*>(detail::checked_raw_data(*this));
}

template <class T>
T Tensor::item() const {
  if (size() != 1) {
    throw Error("nx::Tensor::item: expected a tensor with one element, got shape " +
                shape_repr(shape()));
  }
  return to_vector<T>()[0];
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  const void* raw = detail::checked_raw_data(*this);
  std::vector<T> out(static_cast<size_t>(size()));
  if (dtype() == dtype_of<T>()) {
    const T* p = static_cast<const T*>(raw);
    for (size_t i = 0; i < out.size(); ++i) out[i] = p[i];
    return out;
  }
  for (int64_t i = 0; i < size(); ++i) {
    if constexpr (std::is_same_v<T, bool>) {
      out[i] = detail::element_as_double(*this, i) != 0.0;
    } else if constexpr (std::is_floating_point_v<T>) {
      out[i] = static_cast<T>(detail::element_as_double(*this, i));
    } else if constexpr (std::is_same_v<T, half> || std::is_same_v<T, bfloat16>) {
      out[i] = T(static_cast<float>(detail::element_as_double(*this, i)));
    } else if constexpr (std::is_unsigned_v<T>) {
      out[i] = static_cast<T>(detail::element_as_uint64(*this, i));
    } else {
      out[i] = static_cast<T>(detail::element_as_int64(*this, i));
    }
  }
  return out;
}

}  // namespace nx
