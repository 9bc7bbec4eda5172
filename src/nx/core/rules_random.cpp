// Shape rule of the random-bits primitive.
//
// threefry2x32(key, x0, x1): key is u32[2] (the two key words), x0 and x1 are u32 counters of
// one shape (any rank, empty allowed). Outputs y0, y1 are u32 of that shape: the Threefry-2x32
// block cipher with 20 rounds (Random123, JAX's threefry2x32) applied to each pair (x0, x1).
#include "rules_common.hpp"

namespace nx::detail {

std::vector<TensorType> rule_threefry2x32(int prim, std::span<const Tensor> in, const Params&) {
  static const char* const kNames[] = {"the key", "x0", "x1"};
  for (size_t i = 0; i < 3; ++i) {
    if (in[i].dtype() != DType::U32) {
      rule_error(prim, std::string(kNames[i]) + " must be u32, got " + describe(in[i]));
    }
  }
  if (in[0].shape() != Shape{2}) {
    rule_error(prim, "the key must have shape {2}, got " + describe(in[0]));
  }
  if (in[1].shape() != in[2].shape()) {
    rule_error(prim,
               "x0 and x1 must have one shape, got " + describe(in[1]) + " and " + describe(in[2]));
  }
  TensorType out{in[1].shape(), DType::U32};
  return {out, out};
}

}  // namespace nx::detail
