// Combinators: element-wise add, subtract and multiply of several models, a runtime conditional
// between two graphs, and the EOS mask of recurrent layers (Axon.add, Axon.cond, Axon.mask).
//
//   auto a = axon::dense(x, 16), b = axon::dense(x, 16);
//   auto s = axon::add(a, b);                        // a + b
//   auto p = axon::multiply({a, b, bias_row});       // (a * b) * bias_row, broadcasting
//   auto y = axon::cond(x, [](const nx::Tensor& v) { return nx::greater(nx::sum(v), 0.0); },
//                       axon::relu(a), axon::tanh(b));
//   auto m = axon::mask(token_ids, 0);               // 1 where the token is the EOS token 0
//
// Axon's stack_columns (fields of an Explorer DataFrame stacked into a tensor) has no C++
// counterpart: there is no DataFrame input type here, so it is left out.
#pragma once

#include <cstdint>
#include <functional>
#include "axon/source_location.hpp"
#include <string>
#include <vector>

#include "axon/model.hpp"

namespace axon {

/// Options of the combinators.
struct CombinatorOptions {
  std::string name = {};
};

/// x + y, broadcasting (Axon.add).
Model add(const Model& x, const Model& y, CombinatorOptions opts = {},
          SourceLocation where = SourceLocation::current());
/// The inputs summed as a left fold ((a + b) + c) ..., broadcasting (Axon.add of a list).
Model add(std::vector<Model> xs, CombinatorOptions opts = {},
          SourceLocation where = SourceLocation::current());
/// x - y, broadcasting (Axon.subtract).
Model subtract(const Model& x, const Model& y, CombinatorOptions opts = {},
               SourceLocation where = SourceLocation::current());
/// ((a - b) - c) ..., broadcasting.
Model subtract(std::vector<Model> xs, CombinatorOptions opts = {},
               SourceLocation where = SourceLocation::current());
/// x * y, broadcasting (Axon.multiply).
Model multiply(const Model& x, const Model& y, CombinatorOptions opts = {},
               SourceLocation where = SourceLocation::current());
/// ((a * b) * c) ..., broadcasting.
Model multiply(std::vector<Model> xs, CombinatorOptions opts = {},
               SourceLocation where = SourceLocation::current());

/// cond's predicate: a rank-0 tensor (pred, or any number: non-zero is true) from the parent's
/// output.
using CondFn = std::function<Tensor(const Tensor&)>;

/// true_graph's output when cond_fn(parent) is true, else false_graph's (Axon.cond). The two
/// graphs must give outputs of the same structure, shapes and types. As in Axon, both graphs
/// are this node's inputs, so both are evaluated; nx::cond then picks one, so the gradient
/// reaches the chosen graph only.
Model cond(const Model& parent, CondFn cond_fn, const Model& true_graph, const Model& false_graph,
           CombinatorOptions opts = {},
           SourceLocation where = SourceLocation::current());

/// as_type(x, s64) == eos_token: a pred tensor, true (masked) at the EOS token (Axon.mask).
Model mask(const Model& x, int64_t eos_token, CombinatorOptions opts = {},
           SourceLocation where = SourceLocation::current());

}  // namespace axon
