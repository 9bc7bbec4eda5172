#include "nx/tensor.hpp"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <ostream>

#include "allocator.hpp"
#include "tensor_impl.hpp"
#include "visit_dtype.hpp"

namespace nx {

namespace detail {

namespace {
std::atomic<uint64_t> next_buffer_id{1};
}  // namespace

Buffer::Buffer(size_t bytes)
    : data_(allocate(bytes)), bytes_(bytes), id_(next_buffer_id.fetch_add(1)) {}

void Buffer::renew_id() {
  id_ = next_buffer_id.fetch_add(1);
}

Buffer::~Buffer() {
  if (owned_) deallocate(data_, bytes_);
}

Tensor make_tensor(const TensorType& type) {
  auto impl = std::make_shared<TensorImpl>();
  impl->type = type;
  impl->buffer = std::make_shared<Buffer>(static_cast<size_t>(num_elements(type.shape)) *
                                          static_cast<size_t>(nx::byte_size(type.dtype)));
  return Tensor(std::move(impl));
}

Tensor make_tensor(const TensorType& type, std::shared_ptr<Buffer> buffer) {
  auto impl = std::make_shared<TensorImpl>();
  impl->type = type;
  impl->buffer = std::move(buffer);
  return Tensor(std::move(impl));
}

Tensor strong(const Tensor& t) {
  if (!t.is_weak()) return t;
  Tensor s = make_tensor(t.type(), t.impl()->buffer);
  s.impl()->trace = t.impl()->trace;
  s.impl()->value = t.impl()->value;
  return s;
}

Tensor make_scalar_bits(const void* value, DType dtype, bool weak) {
  Tensor t = make_tensor(TensorType{{}, dtype});
  std::memcpy(mutable_data(t), value, static_cast<size_t>(nx::byte_size(dtype)));
  t.impl()->weak = weak;
  return t;
}

Tensor make_weak_float(double value) {
  float f = static_cast<float>(value);
  Tensor t = make_scalar_bits(&f, DType::F32, true);
  t.impl()->weak_value = value;
  return t;
}

[[noreturn]] void throw_data_dtype(const Tensor& t, DType wanted) {
  throw Error("nx::Tensor::data: the tensor holds " + std::string(dtype_name(t.dtype())) +
              ", not " + std::string(dtype_name(wanted)));
}

const void* checked_raw_data(const Tensor& t) {
  if (!t.defined()) throw Error("nx::Tensor: the tensor is empty (default-constructed)");
  if (!t.impl()->buffer) {
    if (t.impl()->trace != 0) {
      throw Error("nx::Tensor: " + type_string(t.type()) +
                  " is traced (inside nx::jit, nx::grad or a control-flow body): its value is "
                  "not known until the compiled function runs, so it cannot be read here");
    }
    throw Error("nx::Tensor: " + type_string(t.type()) + " is a template and has no data");
  }
  return t.impl()->buffer->data();
}

double element_as_double(const Tensor& t, int64_t i) {
  const void* p = checked_raw_data(t);
  return visit_dtype(t.dtype(), [&](auto tag) -> double {
    using T = typename decltype(tag)::type;
    return static_cast<double>(static_cast<compute_t<T>>(static_cast<const T*>(p)[i]));
  });
}

// Float to integer as nx::as_type does it: NaN gives 0, out-of-range values saturate.
template <class I>
I saturate(double v) {
  if (std::isnan(v)) return 0;
  if (v <= static_cast<double>(std::numeric_limits<I>::lowest()))
    return std::numeric_limits<I>::lowest();
  if (v >= static_cast<double>(std::numeric_limits<I>::max())) return std::numeric_limits<I>::max();
  return static_cast<I>(v);
}

int64_t element_as_int64(const Tensor& t, int64_t i) {
  const void* p = checked_raw_data(t);
  return visit_dtype(t.dtype(), [&](auto tag) -> int64_t {
    using T = typename decltype(tag)::type;
    auto v = static_cast<compute_t<T>>(static_cast<const T*>(p)[i]);
    if constexpr (std::is_floating_point_v<decltype(v)>)
      return saturate<int64_t>(v);
    else
      return static_cast<int64_t>(v);
  });
}

uint64_t element_as_uint64(const Tensor& t, int64_t i) {
  const void* p = checked_raw_data(t);
  return visit_dtype(t.dtype(), [&](auto tag) -> uint64_t {
    using T = typename decltype(tag)::type;
    auto v = static_cast<compute_t<T>>(static_cast<const T*>(p)[i]);
    if constexpr (std::is_floating_point_v<decltype(v)>)
      return saturate<uint64_t>(v);
    else
      return static_cast<uint64_t>(v);
  });
}

}  // namespace detail

std::string type_string(const TensorType& t) {
  return std::string(dtype_name(t.dtype)) + shape_string(t.shape);
}

namespace {
const detail::TensorImpl& checked(const detail::TensorImpl* impl) {
  if (!impl) throw Error("nx::Tensor: the tensor is empty (default-constructed)");
  return *impl;
}
}  // namespace

const Shape& Tensor::shape() const {
  return checked(impl_.get()).type.shape;
}
DType Tensor::dtype() const {
  return checked(impl_.get()).type.dtype;
}
TensorType Tensor::type() const {
  return checked(impl_.get()).type;
}
int64_t Tensor::rank() const {
  return static_cast<int64_t>(shape().size());
}
int64_t Tensor::size() const {
  return num_elements(shape());
}
int64_t Tensor::axis_size(int64_t axis) const {
  return shape()[static_cast<size_t>(normalize_axis(axis, rank(), "nx::Tensor::axis_size"))];
}
int64_t Tensor::byte_size() const {
  return size() * nx::byte_size(dtype());
}
bool Tensor::is_weak() const {
  return checked(impl_.get()).weak;
}
bool Tensor::is_template() const {
  const auto& i = checked(impl_.get());
  return i.buffer == nullptr && i.trace == 0;
}
bool Tensor::is_traced() const {
  return checked(impl_.get()).trace != 0;
}
const void* Tensor::raw_data() const {
  return detail::checked_raw_data(*this);
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  return os << t.to_string();
}

}  // namespace nx
