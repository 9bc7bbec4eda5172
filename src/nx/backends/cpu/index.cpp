#include "pending.hpp"
namespace nx::cpu {
NX_PENDING_KERNEL(gather)
NX_PENDING_KERNEL(scatter_add)
NX_PENDING_KERNEL(scatter_put)
NX_PENDING_KERNEL(qr)
}
