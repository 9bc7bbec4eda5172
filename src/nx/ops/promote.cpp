#include "promote.hpp"

#include <string>

#include "nx/ops/creation.hpp"

namespace nx::detail {

void check_defined(const Tensor& t, std::string_view op, std::string_view what) {
  if (!t.defined()) {
    throw Error(std::string(op) + ": argument " + std::string(what) + " is an empty tensor");
  }
}

DType result_type(const Tensor& a, const Tensor& b) {
  bool wa = a.is_weak(), wb = b.is_weak();
  if (wa == wb) return merge(a.dtype(), b.dtype());
  const Tensor& weak = wa ? a : b;
  const Tensor& strong = wa ? b : a;
  if (is_float(weak.dtype()) && !is_float(strong.dtype())) return DType::F32;
  if (weak.dtype() != DType::Pred && strong.dtype() == DType::Pred) return weak.dtype();
  return strong.dtype();
}

Tensor cast(const Tensor& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  // A weak float converts from its exact C++ value, not from its f32 storage (a traced weak
  // scalar, a number passed to a jit function, converts from its f32 value).
  if (x.is_weak() && !x.is_traced() && is_float(x.dtype()) && is_float(dtype)) {
    return nx::scalar(x.impl()->weak_value, dtype);
  }
  return bind1(Prim::convert, {x}, ConvertParams{dtype});
}

std::pair<Tensor, Tensor> promote(const Tensor& a, const Tensor& b, bool numeric,
                                  std::string_view op) {
  check_defined(a, op, "a");
  check_defined(b, op, "b");
  DType t = result_type(a, b);
  if (numeric && t == DType::Pred) t = DType::U8;
  return {cast(a, t), cast(b, t)};
}

}  // namespace nx::detail
