// Nx-style rendering of tensors (Nx.Tensor's inspect).
#include <charconv>
#include <cmath>
#include <sstream>
#include <string>

#include "nx/tensor.hpp"
#include "tensor_impl.hpp"
#include "visit_dtype.hpp"

namespace nx {

namespace {

template <class T>
std::string format_float(T v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Inf" : "-Inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  std::string s(buf, res.ptr);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

std::string format_element(const Tensor& t, const void* data, int64_t i) {
  return detail::visit_dtype(t.dtype(), [&](auto tag) -> std::string {
    using T = typename decltype(tag)::type;
    T v = static_cast<const T*>(data)[i];
    if constexpr (std::is_same_v<T, bool>) {
      return v ? "true" : "false";
    } else if constexpr (detail::is_half_v<T>) {
      return format_float(static_cast<float>(v));
    } else if constexpr (std::is_floating_point_v<T>) {
      return format_float(v);
    } else {
      return std::to_string(v);
    }
  });
}

void render(std::ostringstream& os, const Tensor& t, const void* data, size_t axis, int64_t offset,
            int64_t stride_product, int indent, int64_t limit) {
  const Shape& shape = t.shape();
  int64_t n = shape[axis];
  int64_t inner = stride_product / n;
  int64_t shown = std::min(n, limit);
  bool last_axis = axis + 1 == shape.size();
  os << "[";
  for (int64_t i = 0; i < shown; ++i) {
    if (last_axis) {
      if (i) os << ", ";
      os << format_element(t, data, offset + i);
    } else {
      os << "\n" << std::string(static_cast<size_t>(indent + 2), ' ');
      render(os, t, data, axis + 1, offset + i * inner, inner, indent + 2, limit);
      if (i + 1 < shown || shown < n) os << ",";
    }
  }
  if (shown < n) {
    if (last_axis) {
      os << ", ...";
    } else {
      os << "\n" << std::string(static_cast<size_t>(indent + 2), ' ') << "...";
    }
  }
  if (!last_axis) os << "\n" << std::string(static_cast<size_t>(indent), ' ');
  os << "]";
}

}  // namespace

std::string Tensor::to_string(const PrintOptions& opts) const {
  if (!defined()) return "nx::Tensor<empty>";
  std::ostringstream os;
  os << "nx::Tensor<\n  " << type_string(type()) << "\n  ";
  if (is_template()) {
    os << "(template: no data)";
  } else if (is_traced()) {
    os << "(traced: value " << impl()->value << ")";
  } else if (rank() == 0) {
    os << format_element(*this, raw_data(), 0);
  } else if (size() == 0) {
    os << "[]";
  } else {
    render(os, *this, raw_data(), 0, 0, size(), 2, std::max<int64_t>(opts.limit, 1));
  }
  os << "\n>";
  return os.str();
}

}  // namespace nx
