// Helpers shared by the interpreter and autodiff for custom_grad closures.
#pragma once

#include <memory>
#include <vector>

#include "nx/defn.hpp"

namespace nx::detail {

/// `vjp`, run with the tensors of trace `trace` substituted by `env` (when env is set).
CustomGradFn substituting_vjp(const CustomGradFn& vjp, uint64_t trace,
                              std::shared_ptr<const std::vector<Tensor>> env);

}  // namespace nx::detail
