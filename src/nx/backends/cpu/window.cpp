#include "pending.hpp"
namespace nx::cpu {
NX_PENDING_KERNEL(window_sum)
NX_PENDING_KERNEL(window_product)
NX_PENDING_KERNEL(window_max)
NX_PENDING_KERNEL(window_min)
NX_PENDING_KERNEL(window_scatter_max)
NX_PENDING_KERNEL(window_scatter_min)
}
