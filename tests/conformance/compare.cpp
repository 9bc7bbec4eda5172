#include "compare.hpp"

#include <cmath>
#include <cstring>
#include <sstream>

namespace nx::conformance {

namespace {

constexpr int kMaxReported = 6;

// "[i][j]" of flat index `flat` in `shape`.
std::string index_string(const Shape& shape, int64_t flat) {
  std::string out;
  std::vector<int64_t> idx(shape.size());
  for (size_t i = shape.size(); i-- > 0;) {
    idx[i] = shape[i] ? flat % shape[i] : 0;
    flat = shape[i] ? flat / shape[i] : 0;
  }
  for (int64_t i : idx) out += "[" + std::to_string(i) + "]";
  return out.empty() ? "[]" : out;
}

std::string number(double v, int digits = 9) {
  std::ostringstream os;
  os.precision(digits);
  os << v;
  return os.str();
}

std::string element_string(const Tensor& t, int64_t i) {
  if (is_float(t.dtype())) {
    return number(detail::element_as_double(t, i), t.dtype() == DType::F64 ? 17 : 9);
  }
  if (is_unsigned_int(t.dtype())) return std::to_string(detail::element_as_uint64(t, i));
  return std::to_string(detail::element_as_int64(t, i));
}

bool exact_equal(const Tensor& got, const Tensor& want, int64_t i) {
  int64_t w = byte_size(got.dtype());
  const auto* g = static_cast<const unsigned char*>(got.raw_data());
  const auto* e = static_cast<const unsigned char*>(want.raw_data());
  if (got.dtype() == DType::Pred) return (g[i] != 0) == (e[i] != 0);
  return std::memcmp(g + i * w, e + i * w, static_cast<size_t>(w)) == 0;
}

bool close(double g, double e, Tolerance tol) {
  if (std::isnan(e)) return std::isnan(g);
  if (std::isinf(e)) return g == e;
  if (!std::isfinite(g)) return false;
  return std::fabs(g - e) <= tol.atol + tol.rtol * std::fabs(e);
}

}  // namespace

std::string preview(const Tensor& t) {
  if (t.is_template()) return type_string(t.type()) + " (template)";
  std::string out = type_string(t.type()) + " [";
  int64_t n = std::min<int64_t>(t.size(), 8);
  for (int64_t i = 0; i < n; ++i) out += (i ? ", " : "") + element_string(t, i);
  return out + (t.size() > n ? ", ...]" : "]");
}

std::string compare(const Tensor& got, const Tensor& want, Tolerance tol, bool meta_only) {
  if (!got.defined()) return "the op returned an empty tensor handle";
  if (got.dtype() != want.dtype() || got.shape() != want.shape()) {
    return "type: want " + type_string(want.type()) + ", got " + type_string(got.type());
  }
  if (meta_only) return {};
  if (got.is_template()) return "got a template (no data)";
  bool floating = is_float(want.dtype());
  int64_t bad = 0;
  double worst = 0.0;
  std::string details;
  for (int64_t i = 0; i < want.size(); ++i) {
    bool ok;
    if (floating) {
      double g = detail::element_as_double(got, i), e = detail::element_as_double(want, i);
      ok = close(g, e, tol);
      if (!ok && std::isfinite(g) && std::isfinite(e)) {
        worst = std::max(worst, std::fabs(g - e) / (tol.atol + tol.rtol * std::fabs(e)));
      }
    } else {
      ok = exact_equal(got, want, i);
    }
    if (ok) continue;
    if (++bad <= kMaxReported) {
      details += "\n    at " + index_string(want.shape(), i) + ": want " + element_string(want, i) +
                 ", got " + element_string(got, i);
    }
  }
  if (bad == 0) return {};
  std::string msg = std::to_string(bad) + " of " + std::to_string(want.size()) +
                    " elements differ (" + std::string(dtype_name(want.dtype()));
  if (floating) {
    msg += ", rtol " + number(tol.rtol) + ", atol " + number(tol.atol);
    if (worst > 0) msg += ", worst finite error " + number(worst) + "x the tolerance";
  }
  return msg + ")" + details;
}

}  // namespace nx::conformance
