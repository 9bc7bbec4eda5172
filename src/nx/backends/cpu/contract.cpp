#include "pending.hpp"
namespace nx::cpu {
NX_PENDING_KERNEL(dot_general)
NX_PENDING_KERNEL(conv_general)
}
