#include "pending.hpp"
namespace nx::cpu {
NX_PENDING_KERNEL(threefry2x32)
}
