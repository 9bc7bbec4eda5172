// Activation layers: each of Axon's 22 activations as a parameterless layer node.
//
//   auto h = axon::activation(x, "relu");      // a node named relu_0, op "relu"
//   auto p = axon::softmax(logits);            // the same through a named builder
#pragma once

#include "axon/source_location.hpp"
#include <string>

#include "axon/model.hpp"

namespace axon {

/// Options of the activation layers.
struct ActivationOptions {
  std::string name = {};
};

/// An activation layer by Axon's name ("relu", "gelu", "softmax", ...; see
/// axon::fn::activation); its op name is the activation's name.
Model activation(const Model& x, const std::string& name, ActivationOptions opts = {},
                 SourceLocation where = SourceLocation::current());

/// The activation layers with their default options, one builder per activation.
#define AXON_ACTIVATION_LAYER(fn_name)                                                 \
  inline Model fn_name(const Model& x, ActivationOptions opts = {},                    \
                       SourceLocation where = SourceLocation::current()) { \
    return activation(x, #fn_name, std::move(opts), where);                            \
  }
AXON_ACTIVATION_LAYER(celu)
AXON_ACTIVATION_LAYER(elu)
AXON_ACTIVATION_LAYER(exp)
AXON_ACTIVATION_LAYER(gelu)
AXON_ACTIVATION_LAYER(hard_sigmoid)
AXON_ACTIVATION_LAYER(hard_silu)
AXON_ACTIVATION_LAYER(hard_tanh)
AXON_ACTIVATION_LAYER(leaky_relu)
AXON_ACTIVATION_LAYER(linear)
AXON_ACTIVATION_LAYER(log_sumexp)
AXON_ACTIVATION_LAYER(log_sigmoid)
AXON_ACTIVATION_LAYER(log_softmax)
AXON_ACTIVATION_LAYER(mish)
AXON_ACTIVATION_LAYER(relu)
AXON_ACTIVATION_LAYER(relu6)
AXON_ACTIVATION_LAYER(sigmoid)
AXON_ACTIVATION_LAYER(silu)
AXON_ACTIVATION_LAYER(selu)
AXON_ACTIVATION_LAYER(softmax)
AXON_ACTIVATION_LAYER(softplus)
AXON_ACTIVATION_LAYER(softsign)
AXON_ACTIVATION_LAYER(tanh)
#undef AXON_ACTIVATION_LAYER

/// `x` followed by the activation `name`, or x itself when name is empty (the `activation`
/// option of dense, conv, ...).
Model maybe_activation(const Model& x, const std::string& name,
                       SourceLocation where = SourceLocation::current());

}  // namespace axon
