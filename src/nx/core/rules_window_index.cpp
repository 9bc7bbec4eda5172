// TEMPORARY placeholder rules (see backends/cpu/pending.hpp); replaced by real rules.
#include "rules_common.hpp"
namespace nx::detail {
std::vector<TensorType> rule_window(int prim, std::span<const Tensor>, const Params&) { rule_error(prim, "rule pending"); }
std::vector<TensorType> rule_window_scatter(int prim, std::span<const Tensor>, const Params&) { rule_error(prim, "rule pending"); }
std::vector<TensorType> rule_gather(int prim, std::span<const Tensor>, const Params&) { rule_error(prim, "rule pending"); }
std::vector<TensorType> rule_scatter(int prim, std::span<const Tensor>, const Params&) { rule_error(prim, "rule pending"); }
std::vector<TensorType> rule_qr(int prim, std::span<const Tensor>, const Params&) { rule_error(prim, "rule pending"); }
}
