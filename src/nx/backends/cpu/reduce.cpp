#include "pending.hpp"
namespace nx::cpu {
NX_PENDING_KERNEL(reduce_sum)
NX_PENDING_KERNEL(reduce_prod)
NX_PENDING_KERNEL(reduce_max)
NX_PENDING_KERNEL(reduce_min)
NX_PENDING_KERNEL(reduce_and)
NX_PENDING_KERNEL(reduce_or)
NX_PENDING_KERNEL(argmax)
NX_PENDING_KERNEL(argmin)
NX_PENDING_KERNEL(cumulative_sum)
NX_PENDING_KERNEL(cumulative_product)
NX_PENDING_KERNEL(cumulative_max)
NX_PENDING_KERNEL(cumulative_min)
NX_PENDING_KERNEL(sort)
}
