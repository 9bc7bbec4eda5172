// Helpers shared by the attention implementation files.
#pragma once

#include <string_view>

#include "axon/fn/common.hpp"
#include "nx/shape.hpp"

namespace axon::fn::detail {

/// Throws nx::Error naming `fn` unless `mask` broadcasts to the attention scores' shape.
void check_attention_mask(std::string_view fn, const Tensor& mask, const nx::Shape& scores);

}  // namespace axon::fn::detail
