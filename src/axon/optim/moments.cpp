// The scaffolding of moment-based transformations (Adam and its relatives): state layout, input
// checks, and the leafwise step.
#include <string>

#include "common.hpp"
#include "nx/error.hpp"
#include "nx/ops/elementwise.hpp"

namespace axon::optim::detail {

Transformation moment_transformation(const char* name,
                                     std::vector<std::pair<const char*, double>> moments,
                                     bool counted,
                                     std::vector<std::pair<const char*, double>> hyperparams,
                                     MomentScalars scalars, MomentStep step) {
  std::string w = who(name);
  Tree hp_init;
  {
    Tree::Map m;
    for (const auto& [k, v] : hyperparams) m.emplace_back(k, Tree(f64(v)));
    hp_init = Tree::map(std::move(m));
  }
  auto init = [w, moments, counted, hp_init](const Tree& params) {
    check_float_leaves(w, params, "parameter");
    Tree::Map state;
    for (const auto& [k, v] : moments) state.emplace_back(k, fill_moments(params, v));
    if (counted) state.emplace_back("count", Tree(zero_count()));
    state.emplace_back("hyperparams", hp_init);
    return Tree::map(std::move(state));
  };
  auto update = [w, moments, counted, hyperparams, scalars = std::move(scalars),
                 step = std::move(step)](const Tree& updates, const Tree& state, const Tree&) {
    check_float_leaves(w, updates, "update");
    std::vector<Tree> trees{updates};
    for (const auto& [k, v] : moments) {
      const Tree& m = field(w, state, k);
      std::string what = "state." + std::string(k);
      check_like(w, updates, "the updates", m, what.c_str());
      check_float_leaves(w, m, what.c_str());
      trees.push_back(m);
    }
    Tensor count, t;
    if (counted) {
      count = count_field(w, state, "count");
      t = cast(count + 1, nx::f64);
    }
    std::vector<Tensor> hp;
    for (const auto& [k, v] : hyperparams) hp.push_back(hyperparam(w, state, k));
    Scalars s(scalars(hp, t));
    std::vector<Tree> out = zip(trees, moments.size() + 1, [&](std::span<const Tensor> leaves) {
      std::vector<Tensor> args(leaves.begin(), leaves.end());
      nx::DType dt = args.size() > 1 ? args[1].dtype() : moment_dtype(args[0].dtype());
      args[0] = cast(args[0], dt);
      return step(args, s.in(dt));
    });
    Tree::Map next;
    for (size_t i = 0; i < moments.size(); ++i) next.emplace_back(moments[i].first, out[i + 1]);
    if (counted) next.emplace_back("count", Tree(count + 1));
    next.emplace_back("hyperparams", field(w, state, "hyperparams"));
    return UpdateResult{out[0], Tree::map(std::move(next))};
  };
  return {init, update};
}

}  // namespace axon::optim::detail
