#include "nx/ops/creation.hpp"

#include <cmath>
#include <cstring>

#include "../core/dispatch.hpp"
#include "../core/tensor_impl.hpp"
#include "../core/visit_dtype.hpp"
#include "../defn/trace.hpp"

namespace nx {

using detail::bind1;
using detail::Prim;

namespace detail {
Tensor as_type_for_creation(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  return bind1(Prim::convert, {t}, ConvertParams{dtype});
}
}  // namespace detail

namespace {
void check_shape(const Shape& shape, const char* op) {
  for (int64_t d : shape) {
    if (d < 0) throw Error(std::string(op) + ": negative dimension in shape " + shape_repr(shape));
  }
}

template <class V>
Tensor filled(const Shape& shape, DType dtype, V value, const char* op) {
  check_shape(shape, op);
  if (!shape.empty() && detail::recording()) {
    // Under tracing a filled tensor is a broadcast scalar, not a large constant in the graph.
    return bind1(Prim::broadcast_in_dim, {filled(Shape{}, dtype, value, op)},
                 detail::BroadcastParams{shape, {}});
  }
  Tensor t = detail::make_tensor(TensorType{shape, dtype});
  detail::visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T v;
    if constexpr (std::is_same_v<T, bool>)
      v = value != V{0};
    else if constexpr (detail::is_half_v<T>)
      v = T(static_cast<float>(value));
    else
      v = static_cast<T>(value);
    T* p = detail::mutable_data<T>(t);
    for (int64_t i = 0, n = t.size(); i < n; ++i) p[i] = v;
  });
  return t;
}

void check_int_range(double value, DType dtype, const char* op) {
  if (!is_integer(dtype) || std::isnan(value)) {
    if (is_integer(dtype))
      throw Error(std::string(op) + ": NaN cannot be stored in " + std::string(dtype_name(dtype)));
    return;
  }
  double lo = is_unsigned_int(dtype) ? 0.0 : -std::ldexp(1.0, bit_size(dtype) - 1);
  double hi = is_unsigned_int(dtype) ? std::ldexp(1.0, bit_size(dtype))
                                     : std::ldexp(1.0, bit_size(dtype) - 1);
  if (value < lo || value >= hi) {
    throw Error(std::string(op) + ": value " + std::to_string(value) + " does not fit in " +
                std::string(dtype_name(dtype)));
  }
}
}  // namespace

Tensor from_data(const void* data, const Shape& shape, DType dtype) {
  check_shape(shape, "nx::from_data");
  Tensor t = detail::make_tensor(TensorType{shape, dtype});
  if (t.byte_size() > 0)
    std::memcpy(detail::mutable_data(t), data, static_cast<size_t>(t.byte_size()));
  return t;
}

Tensor from_vector(const std::vector<bool>& values, std::optional<Shape> shape) {
  Shape s = shape ? *shape : Shape{static_cast<int64_t>(values.size())};
  if (num_elements(s) != static_cast<int64_t>(values.size())) {
    throw Error("nx::from_vector: " + std::to_string(values.size()) + " values do not fill shape " +
                shape_repr(s));
  }
  Tensor t = detail::make_tensor(TensorType{s, DType::Pred});
  auto* p = detail::mutable_data<uint8_t>(t);
  for (size_t i = 0; i < values.size(); ++i) p[i] = values[i] ? 1 : 0;
  return t;
}

Tensor scalar(double value, DType dtype) {
  check_int_range(std::trunc(value), dtype, "nx::scalar");
  return filled({}, dtype, value, "nx::scalar");
}

Tensor scalar_int(int64_t value, DType dtype) {
  return filled({}, dtype, value, "nx::scalar_int");
}

Tensor full(const Shape& shape, double value, DType dtype) {
  check_int_range(std::trunc(value), dtype, "nx::full");
  return filled(shape, dtype, value, "nx::full");
}
Tensor zeros(const Shape& shape, DType dtype) {
  return filled(shape, dtype, 0.0, "nx::zeros");
}
Tensor ones(const Shape& shape, DType dtype) {
  return filled(shape, dtype, 1.0, "nx::ones");
}
Tensor full_like(const Tensor& t, double value) {
  return full(t.shape(), value, t.dtype());
}
Tensor zeros_like(const Tensor& t) {
  return zeros(t.shape(), t.dtype());
}
Tensor ones_like(const Tensor& t) {
  return ones(t.shape(), t.dtype());
}

Tensor iota(const Shape& shape, DType dtype) {
  return bind1(Prim::iota, {}, detail::IotaParams{shape, dtype, -1});
}

Tensor iota(const Shape& shape, int64_t axis, DType dtype) {
  int64_t a = normalize_axis(axis, static_cast<int64_t>(shape.size()), "nx::iota");
  return bind1(Prim::iota, {}, detail::IotaParams{shape, dtype, a});
}

Tensor eye(int64_t n, DType dtype) {
  return eye(Shape{n, n}, dtype);
}

Tensor eye(const Shape& shape, DType dtype) {
  if (shape.size() < 2) {
    throw Error("nx::eye: shape must have rank 2 or more, got " + shape_repr(shape));
  }
  int64_t r = static_cast<int64_t>(shape.size());
  Tensor rows = iota(shape, r - 2, s64), cols = iota(shape, r - 1, s64);
  Tensor diag = bind1(Prim::equal, {rows, cols});
  return bind1(Prim::convert, {diag}, detail::ConvertParams{dtype});
}

Tensor linspace(double start, double stop, int64_t n, bool endpoint, DType dtype) {
  if (n < 0) throw Error("nx::linspace: n must be >= 0, got " + std::to_string(n));
  std::vector<double> v(static_cast<size_t>(n));
  int64_t div = endpoint ? n - 1 : n;
  double step = div > 0 ? (stop - start) / static_cast<double>(div) : 0.0;
  for (int64_t i = 0; i < n; ++i) v[i] = start + step * static_cast<double>(i);
  if (endpoint && n > 1) v[n - 1] = stop;
  if (is_integer(dtype)) {
    for (double& x : v) x = std::floor(x);
  }
  return detail::as_type_for_creation(from_vector(v), dtype);
}

Tensor arange(double start, double stop, double step, DType dtype) {
  if (step == 0.0 || std::isnan(step)) throw Error("nx::arange: step must be non-zero");
  double count = std::ceil((stop - start) / step);
  int64_t n = count > 0 ? static_cast<int64_t>(count) : 0;
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = start + step * static_cast<double>(i);
  return detail::as_type_for_creation(from_vector(v), dtype);
}

Tensor make_template(const Shape& shape, DType dtype) {
  check_shape(shape, "nx::make_template");
  auto impl = std::make_shared<detail::TensorImpl>();
  impl->type = TensorType{shape, dtype};
  return Tensor(std::move(impl));
}

}  // namespace nx
