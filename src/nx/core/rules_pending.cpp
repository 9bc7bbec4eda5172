// TEMPORARY: shape rules being written in parallel (see backends/cpu/pending.hpp).
#include "rules_common.hpp"
namespace nx::detail {
#define NX_PENDING_RULE(name) \
  std::vector<TensorType> name(int prim, std::span<const Tensor>, const Params&) { rule_error(prim, "rule pending"); }
NX_PENDING_RULE(rule_dot_general)
NX_PENDING_RULE(rule_conv_general)
NX_PENDING_RULE(rule_window)
NX_PENDING_RULE(rule_window_scatter)
NX_PENDING_RULE(rule_gather)
NX_PENDING_RULE(rule_scatter)
NX_PENDING_RULE(rule_sort)
NX_PENDING_RULE(rule_scan)
NX_PENDING_RULE(rule_threefry2x32)
NX_PENDING_RULE(rule_qr)
}
