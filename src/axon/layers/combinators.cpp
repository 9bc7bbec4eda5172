// The combinators: broadcasting left folds of nx's binary ops, cond through nx::cond, and the
// EOS mask.
#include "axon/layers/combinators.hpp"

#include "nx/defn.hpp"
#include "nx/error.hpp"
#include "nx/ops/elementwise.hpp"

namespace axon {

namespace {

using BinaryOp = Tensor (*)(const Tensor&, const Tensor&);

Model fold(std::vector<Model> xs, BinaryOp op, const char* op_name, CombinatorOptions opts,
           SourceLocation where) {
  if (xs.size() < 2) {
    throw nx::Error(std::string("axon::") + op_name + ": needs at least two inputs, got " +
                    std::to_string(xs.size()));
  }
  return layer(
      [op](const LayerCall& c) {
        Tensor acc = c.input(0);
        for (size_t i = 1; i < c.inputs.size(); ++i) acc = op(acc, c.input(i));
        return LayerResult{acc};
      },
      std::move(xs), {.name = std::move(opts.name), .op_name = op_name}, where);
}

}  // namespace

Model add(const Model& x, const Model& y, CombinatorOptions opts, SourceLocation where) {
  return fold({x, y}, &nx::add, "add", std::move(opts), where);
}
Model add(std::vector<Model> xs, CombinatorOptions opts, SourceLocation where) {
  return fold(std::move(xs), &nx::add, "add", std::move(opts), where);
}
Model subtract(const Model& x, const Model& y, CombinatorOptions opts, SourceLocation where) {
  return fold({x, y}, &nx::subtract, "subtract", std::move(opts), where);
}
Model subtract(std::vector<Model> xs, CombinatorOptions opts, SourceLocation where) {
  return fold(std::move(xs), &nx::subtract, "subtract", std::move(opts), where);
}
Model multiply(const Model& x, const Model& y, CombinatorOptions opts, SourceLocation where) {
  return fold({x, y}, &nx::multiply, "multiply", std::move(opts), where);
}
Model multiply(std::vector<Model> xs, CombinatorOptions opts, SourceLocation where) {
  return fold(std::move(xs), &nx::multiply, "multiply", std::move(opts), where);
}

Model cond(const Model& parent, CondFn cond_fn, const Model& true_graph, const Model& false_graph,
           CombinatorOptions opts, SourceLocation where) {
  if (!cond_fn) throw nx::Error("axon::cond: cond_fn is empty");
  return layer(
      [cond_fn = std::move(cond_fn)](const LayerCall& c) {
        Tensor pred = cond_fn(c.input(0));
        if (!pred.defined() || pred.rank() != 0) {
          throw nx::Error("axon::cond: cond_fn must return a rank-0 tensor, got " +
                          (pred.defined() ? nx::shape_repr(pred.shape()) : std::string("none")));
        }
        const Tree& on_true = c.inputs[1];
        const Tree& on_false = c.inputs[2];
        return LayerResult{nx::cond(
            pred, [&on_true] { return on_true; }, [&on_false] { return on_false; })};
      },
      {parent, true_graph, false_graph}, {.name = std::move(opts.name), .op_name = "cond"}, where);
}

Model mask(const Model& x, int64_t eos_token, CombinatorOptions opts, SourceLocation where) {
  return layer(
      [eos_token](const LayerCall& c) {
        return LayerResult{nx::equal(nx::as_type(c.input(0), nx::s64), Tensor(eos_token))};
      },
      {x},
      {.name = std::move(opts.name),
       .op_name = "mask",
       .options = {{"eos_token", std::to_string(eos_token)}}},
      where);
}

}  // namespace axon
