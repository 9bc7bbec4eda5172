// TEMPORARY placeholder rules (see backends/cpu/pending.hpp); replaced by real rules.
#include "rules_common.hpp"
namespace nx::detail {
std::vector<TensorType> rule_dot_general(int prim, std::span<const Tensor>, const Params&) { rule_error(prim, "rule pending"); }
std::vector<TensorType> rule_conv_general(int prim, std::span<const Tensor>, const Params&) { rule_error(prim, "rule pending"); }
}
