#include "axon/layers/activation.hpp"

#include "axon/fn/activations.hpp"

namespace axon {

Model activation(const Model& x, const std::string& name, ActivationOptions opts,
                 SourceLocation where) {
  fn::Activation act = fn::activation(name);  // throws on an unknown name, at build time
  return layer([act](const LayerCall& c) { return LayerResult{act(c.input(0))}; }, {x},
               {.name = std::move(opts.name), .op_name = name}, where);
}

Model maybe_activation(const Model& x, const std::string& name, SourceLocation where) {
  return name.empty() ? x : activation(x, name, {}, where);
}

}  // namespace axon
