// train_step, eval_step, trainer and evaluator: the steps of supervised training and
// evaluation of an axon model, and the loss and optimizer shorthands.
#include <memory>
#include <utility>

#include "axon/loop.hpp"
#include "axon/loop/handlers.hpp"
#include "nx/defn.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"

namespace axon::loop {

Loss::Loss(const char* name) : Loss(std::string(name)) {}

Loss::Loss(const std::string& name) {
  fn::losses::Loss l = fn::losses::loss(name, fn::losses::Reduction::Mean);
  fn_ = [l](const nx::Tree& y, const nx::Tree& p) { return l(y.leaf(), p.leaf()); };
}

Loss::Loss(fn::losses::Loss fn) {
  if (!fn) throw nx::Error("axon::loop::Loss: the loss function is empty");
  fn_ = [fn](const nx::Tree& y, const nx::Tree& p) { return fn(y.leaf(), p.leaf()); };
}

Loss::Loss(std::vector<std::pair<Loss, double>> per_output) {
  if (per_output.empty()) throw nx::Error("axon::loop::Loss: no per-output losses given");
  fn_ = [per_output](const nx::Tree& y, const nx::Tree& p) {
    if (y.size() != per_output.size() || p.size() != per_output.size()) {
      throw nx::Error("axon::loop::Loss: " + std::to_string(per_output.size()) +
                      " per-output losses, but targets " + y.to_string() + " and predictions " +
                      p.to_string());
    }
    nx::Tensor total;
    for (size_t i = 0; i < per_output.size(); ++i) {
      nx::Tensor l = nx::multiply(per_output[i].first(y[i], p[i]), per_output[i].second);
      total = i == 0 ? l : nx::add(total, l);
    }
    return total;
  };
}

nx::Tensor Loss::operator()(const nx::Tree& y_true, const nx::Tree& y_pred) const {
  return fn_(y_true, y_pred);
}

Optimizer::Optimizer(const char* name) : Optimizer(std::string(name)) {}
Optimizer::Optimizer(const std::string& name) : transformation(optim::by_name(name)) {}
Optimizer::Optimizer(optim::Transformation t) : transformation(std::move(t)) {}

std::pair<InitFn, StepFn> train_step(const Model& model, Loss loss, Optimizer optimizer,
                                     const TrainOptions& opts) {
  if (opts.gradient_accumulation_steps < 1) {
    throw nx::Error("axon::loop::train_step: gradient_accumulation_steps must be >= 1, got " +
                    std::to_string(opts.gradient_accumulation_steps));
  }
  auto built = build(model, {.mode = Mode::Train, .seed = opts.seed});
  axon::InitFn init_fn = built.first;
  PredictFn predict_fn = built.second;
  optim::Transformation opt = optimizer.transformation;
  if (opts.gradient_accumulation_steps > 1) {
    opt = optim::accumulate_gradients(opt, opts.gradient_accumulation_steps);
  }
  const bool scaled = opts.loss_scale.has_value();
  optim::LossScale scale = opts.loss_scale.value_or(optim::identity_loss_scale());
  InitFn init = [init_fn, opt, scale](const data::Batch& first, const ModelState& given,
                                      State& state) {
    ModelState ms = init_fn(nx::tree_templates(first.inputs), given);
    state.model_masks = ms;
    state.model_masks.data = nx::Tree();
    return nx::Tree{{"model_state", ms.data},
                    {"optimizer_state", opt.init(ms.trainable_parameters())},
                    {"loss_scale_state", scale.init()}};
  };
  PredictFn predict = predict_fn;
  StepFn step = [predict, loss, opt, scale, scaled](const data::Batch& batch, const nx::Tree& s,
                                                    const ModelState& masks) {
    ModelState ms = masks;
    ms.data = s["model_state"];
    const nx::Tree& ls_state = s["loss_scale_state"];
    nx::Tree forward_state;
    auto objective = [&](const nx::Tree& params) -> std::pair<nx::Tensor, nx::Tree> {
      ModelState current = ms.update(params);
      nx::Tree out = predict(current, batch.inputs);
      nx::Tensor l = loss(batch.targets, out["prediction"]);
      return {scale.scale(l, ls_state),
              nx::Tree{{"loss", l}, {"prediction", out["prediction"]}, {"state", out["state"]}}};
    };
    nx::Tree params = ms.trainable_parameters();
    nx::ValueAndGrad vg = nx::value_and_grad_aux(params, objective);
    optim::LossScale::Unscaled un = scale.unscale(vg.grad, ls_state);
    optim::UpdateResult r =
        scaled ? optim::skip_if_not_finite(opt, un.finite, un.grads, s["optimizer_state"], params)
               : opt.update(un.grads, s["optimizer_state"], params);
    nx::Tree new_params = optim::apply_updates(params, r.updates);
    ModelState next = ms.update(new_params, vg.aux["state"]);
    return nx::Tree{{"model_state", next.data},     {"optimizer_state", r.state},
                    {"loss_scale_state", un.state}, {"loss", vg.aux["loss"]},
                    {"y_true", batch.targets},      {"y_pred", vg.aux["prediction"]}};
  };
  return {std::move(init), std::move(step)};
}

std::pair<InitFn, StepFn> eval_step(const Model& model) {
  auto built = build(model, {.mode = Mode::Inference});
  axon::InitFn init_fn = built.first;
  PredictFn predict_fn = built.second;
  InitFn init = [init_fn](const data::Batch& first, const ModelState& given, State& state) {
    if (given.data.is_map() && given.data.size() == 0) {
      throw nx::Error("axon::loop::evaluator: run it with the trained ModelState");
    }
    ModelState ms = init_fn(nx::tree_templates(first.inputs), given);
    state.model_masks = ms;
    state.model_masks.data = nx::Tree();
    return nx::Tree{{"model_state", ms.data}};
  };
  PredictFn predict = predict_fn;
  StepFn step = [predict](const data::Batch& batch, const nx::Tree& s, const ModelState& masks) {
    ModelState ms = masks;
    ms.data = s["model_state"];
    return nx::Tree{{"model_state", s["model_state"]},
                    {"y_true", batch.targets},
                    {"y_pred", predict(ms, batch.inputs)}};
  };
  return {std::move(init), std::move(step)};
}

Loop trainer(const Model& model, Loss loss, Optimizer optimizer, const TrainOptions& opts) {
  auto [init, step] = train_step(model, std::move(loss), std::move(optimizer), opts);
  Loop loop = Loop(std::move(step), std::move(init)).metric("loss", [](const nx::Tree& s) {
    return s["loss"].leaf();
  });
  if (opts.log) loop = log_progress(loop, {.every = opts.log_every});
  return loop;
}

Loop evaluator(const Model& model, bool log) {
  auto [init, step] = eval_step(model);
  Loop loop(std::move(step), std::move(init));
  if (log) loop = log_progress(loop, {});
  return loop;
}

}  // namespace axon::loop
