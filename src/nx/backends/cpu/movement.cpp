#include "pending.hpp"
namespace nx::cpu {
NX_PENDING_KERNEL(broadcast_in_dim)
NX_PENDING_KERNEL(reshape)
NX_PENDING_KERNEL(transpose)
NX_PENDING_KERNEL(slice)
NX_PENDING_KERNEL(dynamic_slice)
NX_PENDING_KERNEL(dynamic_update_slice)
NX_PENDING_KERNEL(pad)
NX_PENDING_KERNEL(concatenate)
NX_PENDING_KERNEL(reverse)
}
