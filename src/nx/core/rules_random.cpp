// TEMPORARY placeholder rules (see backends/cpu/pending.hpp); replaced by real rules.
#include "rules_common.hpp"
namespace nx::detail {
std::vector<TensorType> rule_threefry2x32(int prim, std::span<const Tensor>, const Params&) { rule_error(prim, "rule pending"); }
}
