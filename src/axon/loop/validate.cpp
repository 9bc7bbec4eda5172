// validate: evaluates the loop's metrics on validation data after (by default) every epoch.
#include <memory>
#include <utility>

#include "axon/loop/handlers.hpp"
#include "nx/error.hpp"

namespace axon::loop {

Loop validate(const Loop& loop, const Model& model, data::BatchSource& val_data,
              const ValidateOptions& opts) {
  // Built once: every copy of this evaluator shares its compiled executable, so validating
  // again with batches of the same shapes does not recompile.
  Loop eval = evaluator(model, false);
  bool any = false;
  for (const auto& [name, m] : loop.metrics()) {
    if (name == "loss") {
      if (!opts.loss) continue;
      Loss loss = *opts.loss;
      eval = eval.metric(
          name, [loss](const nx::Tree& s) { return loss(s["y_true"], s["y_pred"]); }, m.second);
    } else {
      eval = eval.metric(name, m.first, m.second);
    }
    any = true;
  }
  if (!any) {
    throw nx::Error(
        "axon::loop::validate: the loop has no metrics to validate (attach them before "
        "validate; the \"loss\" metric needs ValidateOptions::loss)");
  }
  auto evaluator_loop = std::make_shared<const Loop>(std::move(eval));
  data::BatchSource* source = &val_data;
  auto handler = [evaluator_loop, source](State& s) {
    State v = evaluator_loop->run(*source, s.model_state());
    for (const auto& [name, value] : v.metrics) {
      s.metrics["validation_" + name] = value;
      s.history[s.epoch]["validation_" + name] = value;
    }
    return Control::Continue;
  };
  return loop.handle_event(opts.event, handler, opts.filter);
}

}  // namespace axon::loop
