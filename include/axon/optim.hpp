// axon::optim: optimizers as values, built from composable gradient transformations (Optax and
// Polaris style).
//
//   namespace optim = axon::optim;
//   optim::Transformation opt = optim::adam({.learning_rate = 1e-3});
//   nx::Tree state = opt.init(params);
//   auto [updates, next] = opt.update(grads, state, params);   // traceable: use inside nx::jit
//   params = optim::apply_updates(params, updates);
//
//   // Compose your own: clip, then Adam's scaling, then decoupled weight decay, then the rate.
//   auto mine = optim::chain({optim::clip_by_global_norm(1.0), optim::scale_by_adam(),
//                             optim::add_decayed_weights({.decay = 1e-4}),
//                             optim::scale_by_learning_rate(optim::cosine_decay(1e-3, {}))});
//
//   // Reduce on plateau, with any optimizer: the learning-rate stage keeps a multiplier.
//   double s = optim::get_hyperparameter(state, "lr_scale").item<double>();
//   state = optim::set_hyperparameter(state, "lr_scale", s * 0.1);
//
// A transformation is a pair of functions over nx::Tree: init(params) -> state and
// update(updates, state, params) -> {updates, state}. Both only use nx ops and nx::cond, never
// read tensor data, and return a state with the same structure, shapes and dtypes as they got,
// so they trace and compile with the training step (nx::jit), and the state can be donated,
// checkpointed (safetensors) and inspected. Updates are *added* to the parameters: the learning
// rate stage that ends every optimizer multiplies by -learning_rate.
//
// Numbers in the state:
//  - step counts are s64 scalars;
//  - numeric hyperparameters live in the state, in a map under the key "hyperparams" of the
//    transformation that uses them, as f64 scalars (Optax's inject_hyperparams, for every
//    transformation). Every update reads them from there, so set_hyperparameter changes the
//    next step without recompiling. They are f64 so that float64 training follows torch.optim
//    to about 1e-13 (an f32 b2 = 0.999 would already be off by 1e-5 in 1 - b2); they are
//    converted to each leaf's dtype when used, as are the step-dependent scalars (bias
//    corrections, schedules), which are computed in f64;
//  - moments and accumulators are float32, or float64 for float64 parameters (Polaris keeps
//    them in f32, so bf16/f16 parameters train stably); stateful transformations compute in
//    that dtype and return their updates in it. apply_updates converts back.
//
// Bad input throws nx::Error naming the transformation and the leaf path: update trees whose
// structure or shapes differ from the state's moments or from the parameters, and leaves that
// are not floating point. An empty map (nx::Tree()) may stand for the parameters of
// transformations that do not read them.
//
// docs/axon-optim.md describes the design, every state layout, and where and why this library
// departs from Polaris and Optax.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "nx/random.hpp"
#include "nx/tensor.hpp"
#include "nx/tree.hpp"

namespace axon::optim {

using nx::Tensor;
using nx::Tree;

// ---- Schedules ---------------------------------------------------------------------------------

/// A function of the step count (an s64 scalar, traced inside jit) to a scalar value. The
/// schedules below compute in f64 and return f64 scalars; a user schedule may return any numeric
/// scalar, which is converted to f64. It must be traceable (nx ops only).
using Schedule = std::function<Tensor(const Tensor& count)>;

/// A hyperparameter that may follow a schedule: a number or a Schedule, accepted wherever a
/// learning rate is.
class Rate {
 public:
  /// A constant rate.
  Rate(double value) : value_(value) {}  // NOLINT(google-explicit-constructor)
  /// A scheduled rate; throws nx::Error for an empty function.
  Rate(Schedule schedule);  // NOLINT(google-explicit-constructor)
  /// True when the rate follows a schedule.
  bool is_schedule() const { return std::holds_alternative<Schedule>(value_); }
  /// The constant (throws nx::Error for a schedule).
  double constant() const;
  /// The value at `count` (an s64 scalar), as an f64 scalar; throws nx::Error when a schedule
  /// returns something other than a numeric scalar.
  Tensor at(const Tensor& count) const;

 private:
  std::variant<double, Schedule> value_;
};

/// The value `init` at every step (Polaris constant).
Schedule constant_schedule(double init);

/// Options of linear_decay.
struct LinearDecayOptions {
  int64_t warmup = 0;    ///< steps of linear warmup from 0
  int64_t steps = 1000;  ///< the step at which the value reaches 0
};
/// Polaris linear_decay: init * t / max(1, warmup) while t < warmup, then
/// init * max(0, (steps - t) / max(1, steps - warmup)).
Schedule linear_decay(double init, const LinearDecayOptions& opts = {});

/// Options of exponential_decay.
struct ExponentialDecayOptions {
  double decay_rate = 0.95;       ///< r: the factor per transition_steps steps (>= 0)
  int64_t transition_steps = 10;  ///< k (> 0)
  int64_t transition_begin = 0;   ///< steps held at init before decaying
  bool staircase = false;         ///< decay in whole steps of k (floor of the exponent)
};
/// init * r^((t - begin) / k), and init while t <= begin (Polaris).
Schedule exponential_decay(double init, const ExponentialDecayOptions& opts = {});

/// Options of cosine_decay.
struct CosineDecayOptions {
  int64_t decay_steps = 10;  ///< k (> 0): the value stays at init * alpha after k steps
  double alpha = 0.0;        ///< the final value as a fraction of init
};
/// init * ((1 + cos(pi * min(t, k) / k)) / 2 * (1 - alpha) + alpha) (Polaris).
Schedule cosine_decay(double init, const CosineDecayOptions& opts = {});

/// Options of polynomial_decay.
struct PolynomialDecayOptions {
  double end_value = 1e-3;        ///< the value from step begin + k on
  double power = 2;               ///< p
  int64_t transition_steps = 10;  ///< k (> 0)
  int64_t transition_begin = 0;   ///< steps held at init before decaying
};
/// (init - end) * (1 - clip(t - begin, 0, k) / k)^p + end (Polaris).
Schedule polynomial_decay(double init, const PolynomialDecayOptions& opts = {});

/// Options of warmup_cosine_decay.
struct WarmupCosineDecayOptions {
  double init_value = 0.0;     ///< value at step 0
  double peak_value = 1e-3;    ///< value at the end of the warmup
  int64_t warmup_steps = 0;    ///< steps of linear warmup (>= 0)
  int64_t decay_steps = 1000;  ///< total steps, warmup included (Optax); > warmup_steps
  double end_value = 0.0;      ///< value from step decay_steps on
};
/// Linear warmup from init_value to peak_value over warmup_steps, then cosine decay to
/// end_value at decay_steps (Optax warmup_cosine_decay_schedule).
Schedule warmup_cosine_decay(const WarmupCosineDecayOptions& opts = {});

/// Runs schedules one after another: schedules[i] takes over at step boundaries[i-1], and sees
/// the count minus that boundary (Optax join_schedules). Needs one boundary fewer than schedules.
Schedule join_schedules(std::vector<Schedule> schedules, std::vector<int64_t> boundaries);

/// init multiplied by scales[i] at and after step boundaries[i], for every i (Optax
/// piecewise_constant_schedule). Needs as many scales as boundaries, all scales >= 0.
Schedule piecewise_constant(double init, std::vector<int64_t> boundaries,
                            std::vector<double> scales);

/// Options of cyclical.
struct CyclicalOptions {
  double min_value = 1e-4;   ///< the value at the start of every cycle
  double max_value = 1e-2;   ///< the value half way through a cycle
  int64_t step_size = 2000;  ///< half a cycle, in steps (> 0)
  /// Triangular: constant amplitude; Triangular2: amplitude halved every cycle; ExpRange:
  /// amplitude scaled by gamma^t.
  enum class Mode : uint8_t { Triangular, Triangular2, ExpRange } mode = Mode::Triangular;
  double gamma = 1.0;  ///< ExpRange: amplitude scaled by gamma^t
};
/// Cyclical learning rate (Smith 2017, as torch.optim.lr_scheduler.CyclicLR with
/// step_size_up = step_size_down = step_size): a triangle wave between min and max.
Schedule cyclical(const CyclicalOptions& opts = {});

// ---- Transformations ---------------------------------------------------------------------------

/// What an update returns.
struct UpdateResult {
  Tree updates;  ///< the transformed updates, structured like the gradients
  Tree state;    ///< the new state, with the structure and types of the old one
};

/// A gradient transformation: init(params) -> state; update(updates, state, params) -> {updates,
/// state}. Both are traceable (they only use nx ops and control flow), so they compile with the
/// training step. The state is a tree; its layout is documented per transformation.
struct Transformation {
  std::function<Tree(const Tree& params)> init;
  std::function<UpdateResult(const Tree& updates, const Tree& state, const Tree& params)> update;
};

/// Passes updates through; state is an empty map.
Transformation identity();
/// Applies the transformations in order; the state is a list of their states, in that order
/// (Polaris puts the last one first; Optax keeps this order).
Transformation chain(std::vector<Transformation> transformations);
/// A transformation without state: fn(updates, params) -> updates; state is an empty map.
Transformation stateless(std::function<Tree(const Tree& updates, const Tree& params)> fn);
/// A transformation from an init and an update function (Polaris's stateful, without the
/// parent: compose with chain). Throws nx::Error when either is empty.
Transformation stateful(
    std::function<Tree(const Tree& params)> init,
    std::function<UpdateResult(const Tree& updates, const Tree& state, const Tree& params)> update);
/// Applies `inner` to the leaves whose dotted path (as nx::tree_flatten_with_paths writes it)
/// `mask` accepts; the others pass through unchanged (Optax masked). Inner's state is inner's
/// own, initialised from the selected part of the parameters: nested maps that keep the
/// selected leaves under their original paths (list indices become keys "0", "1", ...), or an
/// empty map when nothing is selected.
Transformation masked(Transformation inner, std::function<bool(const std::string& path)> mask);
/// params + updates, each update converted to its parameter's dtype. Throws nx::Error naming
/// the path when the structures or shapes differ or a parameter is not floating point.
Tree apply_updates(const Tree& params, const Tree& updates);

/// Every hyperparameter named `name` in an optimizer state (leaves of the "hyperparams" maps),
/// with its dotted path ("1.hyperparams.learning_rate"). `name` may also be such a path.
std::vector<nx::PathLeaf> find_hyperparameters(const Tree& state, const std::string& name);
/// The state with every hyperparameter `name` set to `value` (same dtype as before). `name` is a
/// bare name (every transformation's hyperparameter of that name is set: "eps" reaches both
/// Adam's and the trust ratio's in lamb) or a full path from find_hyperparameters (just that
/// one). Throws nx::Error listing the hyperparameters the state has when none matches.
Tree set_hyperparameter(const Tree& state, const std::string& name, double value);
/// set_hyperparameter with a scalar tensor value (may be traced: a jitted plateau handler).
Tree set_hyperparameter(const Tree& state, const std::string& name, const Tensor& value);
/// The one hyperparameter `name` (a bare name or a path); throws nx::Error when there are none
/// or several, listing them.
Tensor get_hyperparameter(const Tree& state, const std::string& name);

// ---- Polaris updates (defaults as Polaris's code) ----------------------------------------------
// "g" is the incoming update of a leaf, "t" the step number counted from 1.

/// updates * step. State: empty map (a fixed factor; scale_by_state is the adjustable one).
Transformation scale(double step);
/// updates * scale. State {"hyperparams": {"scale"}}.
Transformation scale_by_state(double step);
/// The learning-rate stage every optimizer ends with: updates * -lr(count) * lr_scale.
/// State {"count", "hyperparams": {"learning_rate", "lr_scale"}}: for a constant rate,
/// learning_rate is the rate, which set_hyperparameter changes; for a schedule, it records the
/// value the latest step used (overwritten every step). lr_scale (1) multiplies either: it is
/// what reduce-on-plateau scales.
Transformation scale_by_learning_rate(const Rate& lr);

/// Options of scale_by_adam.
struct AdamOptions {
  double b1 = 0.9, b2 = 0.999, eps = 1e-8, eps_root = 1e-15;
};
/// Adam's scaling: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2, output
/// m^ / (sqrt(v^ + eps_root) + eps) with m^ = m / (1 - b1^t), v^ = v / (1 - b2^t).
/// State {"mu", "nu", "count", "hyperparams": {b1, b2, eps, eps_root}}.
Transformation scale_by_adam(const AdamOptions& opts = {});

/// Options of scale_by_rss.
struct RssOptions {
  double initial_accumulator_value = 0.1, eps = 1e-7;
};
/// AdaGrad's scaling: s += g^2, output g * rsqrt(s + eps) where s > 0, else 0.
/// State {"sum_of_squares", "hyperparams": {eps}}.
Transformation scale_by_rss(const RssOptions& opts = {});

/// Options of scale_by_rms and scale_by_stddev.
struct RmsOptions {
  double initial_scale = 0.0, decay = 0.9, eps = 1e-8;
};
/// RMSProp's scaling: v = decay v + (1 - decay) g^2 (v starts at initial_scale), output
/// g * rsqrt(v + eps). State {"nu", "hyperparams": {decay, eps}}.
Transformation scale_by_rms(const RmsOptions& opts = {});

/// Options of scale_by_belief.
struct BeliefOptions {
  double b1 = 0.9, b2 = 0.999, eps = 0.0, eps_root = 1e-16;
};
/// AdaBelief's scaling as in the paper (and Optax): m = b1 m + (1 - b1) g,
/// s = b2 s + (1 - b2) (g - m)^2 + eps_root, output m^ / (sqrt(s^) + eps). Polaris's code uses
/// g^2 for s, which is Adam; see docs. State {"mu", "nu", "count", "hyperparams": {b1, b2, eps,
/// eps_root}}.
Transformation scale_by_belief(const BeliefOptions& opts = {});

/// Centered RMSProp's scaling: m = EMA(g), v = EMA(g^2) (v starts at initial_scale), output
/// g * rsqrt(v - m^2 + eps). State {"mu", "nu", "hyperparams": {decay, eps}}.
Transformation scale_by_stddev(const RmsOptions& opts = {});

/// updates * schedule(count); state {"count"}.
Transformation scale_by_schedule(Schedule schedule);

/// Options of scale_by_radam.
struct RadamOptions {
  double b1 = 0.9, b2 = 0.999, eps = 1e-8, eps_root = 0.0, threshold = 5.0;
};
/// Rectified Adam: with rho_inf = 2 / (1 - b2) - 1 and rho_t = rho_inf - 2 t b2^t / (1 - b2^t),
/// output r_t m^ / (sqrt(v^ + eps_root) + eps) when rho_t >= threshold, else m^, where
/// r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t)). (Polaris
/// computes rho_inf from b1; the paper, Optax and torch from b2.) State as scale_by_adam, with
/// threshold among the hyperparams.
Transformation scale_by_radam(const RadamOptions& opts = {});

/// Options of trace.
struct TraceOptions {
  double decay = 0.9;     ///< the momentum coefficient
  bool nesterov = false;  ///< Nesterov's momentum
};
/// Momentum: t' = decay * t + g; output t', or decay * t' + g with nesterov (torch.optim.SGD's
/// momentum buffer). State {"trace", "hyperparams": {decay}}.
Transformation trace(const TraceOptions& opts = {});

/// Elementwise clip to [-delta, delta]. State {"hyperparams": {delta}}.
Transformation clip(double delta = 2.0);
/// Scales all updates by max_norm / global_norm when the global norm (over every leaf, summed
/// in f32, or f64 if a leaf is f64) is at least max_norm. State {"hyperparams": {max_norm}}.
Transformation clip_by_global_norm(double max_norm = 1.0);
/// Subtracts the mean over all axes but the first, for updates of rank > 1 (gradient
/// centralization). State: empty map.
Transformation centralize();

/// Options of add_decayed_weights.
struct DecayOptions {
  double decay = 0.0;
};
/// updates + decay * params. State {"hyperparams": {decay}}.
Transformation add_decayed_weights(const DecayOptions& opts = {});

/// Options of scale_by_trust_ratio.
struct TrustRatioOptions {
  double min_norm = 0.0, trust_coefficient = 1.0, eps = 0.0;
};
/// Layer-wise trust ratio (LARS/LAMB): per leaf, g * trust_coefficient * |p| / (|g| + eps), with
/// each norm raised to min_norm, and a ratio of 1 when either norm is 0.
/// State {"hyperparams": {min_norm, trust_coefficient, eps}}.
Transformation scale_by_trust_ratio(const TrustRatioOptions& opts = {});

/// Options of add_noise.
struct NoiseOptions {
  double eta = 0.01, gamma = 0.55;
  uint64_t seed = 0;  ///< Polaris defaults to the system time; a fixed default is reproducible
};
/// Annealed Gaussian noise (Neelakantan et al. 2015): updates + sqrt(eta / t^gamma) * N(0, 1),
/// with the noise in each update's dtype. (Polaris multiplies by the variance eta / t^gamma
/// itself; the paper and Optax by its root.) State {"count", "key" (u32[2]), "hyperparams":
/// {eta, gamma}}.
Transformation add_noise(const NoiseOptions& opts = {});

/// Options of scale_by_yogi.
struct YogiOptions {
  double initial_accumulator_value = 1e-6, b1 = 0.9, b2 = 0.999, eps = 1e-3, eps_root = 0.0;
};
/// Yogi: m = EMA(g), v = v - (1 - b2) sign(v - g^2) g^2 (both start at
/// initial_accumulator_value), output m^ / (sqrt(v^ + eps_root) + eps). State as scale_by_adam.
Transformation scale_by_yogi(const YogiOptions& opts = {});

/// Sums `steps` (>= 1) successive updates and passes their mean to `inner` every `steps`-th
/// call, emitting zeros (and leaving inner's state alone) on the others; the emitted updates
/// are in the accumulator's dtype. State {"accumulated", "step" (calls since the last firing),
/// "inner"}. (Polaris's version ignores its buffer; this one accumulates.) Under jit the inner
/// update runs in an nx::cond, so it costs nothing on the other steps.
Transformation accumulate_gradients(Transformation inner, int64_t steps);

// ---- Optimizers --------------------------------------------------------------------------------
// Each is a chain ending in scale_by_learning_rate (its state is the chain's list of states), with
// Polaris's defaults; every learning rate may be a Schedule.

/// Options of adabelief.
struct AdabeliefOptions {
  Rate learning_rate = 1e-3;
  double b1 = 0.9, b2 = 0.999, eps = 0.0, eps_root = 1e-16;
};
/// scale_by_belief, learning rate.
Transformation adabelief(const AdabeliefOptions& opts = {});

/// Options of adagrad.
struct AdagradOptions {
  Rate learning_rate = 1e-3;
  double initial_accumulator_value = 0.1, eps = 1e-7;
};
/// scale_by_rss, learning rate.
Transformation adagrad(const AdagradOptions& opts = {});

/// Options of adam.
struct AdamOptimizerOptions {
  Rate learning_rate = 1e-3;
  double b1 = 0.9, b2 = 0.999, eps = 1e-8, eps_root = 1e-15;
};
/// scale_by_adam, learning rate.
Transformation adam(const AdamOptimizerOptions& opts = {});

/// Options of adamw.
struct AdamwOptions {
  Rate learning_rate = 1e-3;
  double b1 = 0.9, b2 = 0.999, eps = 1e-8, eps_root = 1e-15;
  double decay = 0.0;
};
/// Adam with decoupled weight decay: scale_by_adam, add_decayed_weights, learning rate (so the
/// decay is multiplied by the learning rate, as torch.optim.AdamW's weight_decay).
Transformation adamw(const AdamwOptions& opts = {});

/// Options of lamb.
struct LambOptions {
  Rate learning_rate = 1e-2;
  double b1 = 0.9, b2 = 0.999, eps = 1e-8, eps_root = 1e-15;
  double decay = 0.0, min_norm = 0.0;
};
/// scale_by_adam, add_decayed_weights, scale_by_trust_ratio, learning rate.
Transformation lamb(const LambOptions& opts = {});

/// Options of noisy_sgd.
struct NoisySgdOptions {
  Rate learning_rate = 1e-2;
  double eta = 0.01, gamma = 0.55;
  uint64_t seed = 0;
};
/// Learning rate, then add_noise (the noise is not scaled by the rate, as in Polaris).
Transformation noisy_sgd(const NoisySgdOptions& opts = {});

/// Options of radam.
struct RadamOptimizerOptions {
  Rate learning_rate = 1e-3;
  double b1 = 0.9, b2 = 0.999, eps = 1e-8, eps_root = 0.0, threshold = 5.0;
};
/// scale_by_radam, learning rate.
Transformation radam(const RadamOptimizerOptions& opts = {});

/// Options of rmsprop.
struct RmspropOptions {
  Rate learning_rate = 1e-2;
  bool centered = false;  ///< scale_by_stddev instead of scale_by_rms
  double initial_scale = 0.0, decay = 0.9, eps = 1e-8;
  std::optional<double> momentum = std::nullopt;  ///< unset: no momentum stage
  bool nesterov = false;
};
/// scale_by_rms (or scale_by_stddev), learning rate, then trace(momentum) when momentum is set.
Transformation rmsprop(const RmspropOptions& opts = {});

/// Options of sgd.
struct SgdOptions {
  Rate learning_rate = 1e-2;
  std::optional<double> momentum = std::nullopt;  ///< unset: no momentum stage
  bool nesterov = false;
};
/// trace(momentum) when momentum is set, then the learning rate (torch.optim.SGD).
Transformation sgd(const SgdOptions& opts = {});

/// Options of yogi.
struct YogiOptimizerOptions {
  Rate learning_rate = 1e-2;
  double initial_accumulator_value = 1e-6, b1 = 0.9, b2 = 0.999, eps = 1e-3, eps_root = 0.0;
};
/// scale_by_yogi, learning rate.
Transformation yogi(const YogiOptimizerOptions& opts = {});

/// Options of adamax.
struct AdamaxOptions {
  Rate learning_rate = 2e-3;
  double b1 = 0.9, b2 = 0.999, eps = 1e-8;
};
/// Adam with the infinity norm (Kingma & Ba section 7.1), as torch.optim.Adamax: m = EMA(g),
/// u = max(b2 u, |g| + eps), output m / ((1 - b1^t) u); then the learning rate. The first
/// stage's state is {"mu", "nu" (u), "count", "hyperparams": {b1, b2, eps}}.
Transformation adamax(const AdamaxOptions& opts = {});

/// Options of nadam.
struct NadamOptions {
  Rate learning_rate = 2e-3;
  double b1 = 0.9, b2 = 0.999, eps = 1e-8;
  double momentum_decay = 4e-3;  ///< psi in mu_t = b1 (1 - 0.5 * 0.96^(t psi))
};
/// Adam with Nesterov momentum (Dozat 2016) as torch.optim.NAdam, momentum schedule included:
/// output (1 - mu_t) / (1 - P_t) g / d + mu_{t+1} / (1 - P_t mu_{t+1}) m / d with
/// d = sqrt(v / (1 - b2^t)) + eps and P_t = mu_1 ... mu_t; then the learning rate. (torch 1.13's
/// default single-tensor loop multiplies mu_t into P twice; its foreach loop, torch >= 2.0 and
/// the paper do not, and neither does this.) The first stage's state is {"mu", "nu", "count",
/// "mu_product" (f64 scalar), "hyperparams": {b1, b2, eps, momentum_decay}}.
Transformation nadam(const NadamOptions& opts = {});

/// Options of lion.
struct LionOptions {
  Rate learning_rate = 1e-4;
  double b1 = 0.9, b2 = 0.99;
  double decay = 0.0;  ///< decoupled weight decay, multiplied by the learning rate
};
/// Lion (Chen et al. 2023; Optax): output sign((1 - b1) g + b1 m), then m = (1 - b2) g + b2 m;
/// then add_decayed_weights and the learning rate. The first stage's state is {"mu",
/// "hyperparams": {b1, b2}}.
Transformation lion(const LionOptions& opts = {});

/// Options of adafactor.
struct AdafactorOptions {
  /// Unset: the paper's relative step size min(1e-2, 1 / sqrt(t)), still under lr_scale.
  std::optional<Rate> learning_rate = std::nullopt;
  double decay_rate = 0.8;  ///< second-moment decay b2_t = 1 - t^(-decay_rate)
  double eps1 = 1e-30;      ///< added to g^2
  double eps2 = 1e-3;       ///< the smallest parameter scale
  /// Update clipping: u / max(1, rms(u) / threshold) per leaf; unset: none.
  std::optional<double> clipping_threshold = 1.0;
  std::optional<double> b1 = std::nullopt;  ///< momentum (an EMA without debiasing); unset: none
  bool multiply_by_parameter_scale = true;  ///< scale steps by max(eps2, rms(param))
  int64_t min_dim_size_to_factor = 128;     ///< factor leaves whose 2nd-largest axis is this big
  double decay = 0.0;  ///< weight decay, added after the step size (Optax): not scaled by it
};
/// Adafactor (Shazeer & Stern 2018) as Optax's adafactor: factored second moments for leaves
/// whose two largest axes are at least min_dim_size_to_factor (row and column means of
/// g^2 + eps1 over those axes), full ones otherwise; update clipping; the step size; the
/// parameter scale; optional momentum; weight decay; negation. The first stage's state is
/// {"v_row", "v_col", "v", "count", "hyperparams": {decay_rate, eps1}}, where each tree has the
/// parameters' structure and holds a [1] placeholder where a leaf does not use it (Optax).
Transformation adafactor(const AdafactorOptions& opts = {});

/// The optimizer Axon's Loop names (adabelief, adagrad, adam, adamw, lamb, noisy_sgd, radam,
/// rmsprop, sgd, yogi, adamax, nadam, lion, adafactor) with its default options; throws
/// nx::Error listing the names for an unknown one.
Transformation by_name(const std::string& name);

// ---- Loss scaling for mixed precision ---------------------------------------------------------

/// Scales the loss before differentiation and unscales the gradients after, so that small f16
/// gradients do not flush to zero (Axon.LossScale). State is a tree (jit-friendly).
struct LossScale {
  std::function<Tree()> init;
  /// loss * scale, in the loss's dtype.
  std::function<Tensor(const Tensor& loss, const Tree& state)> scale;
  /// What unscale returns: the gradients divided by the scale, whether they are all finite,
  /// and the adjusted state.
  struct Unscaled {
    Tree grads;     ///< in the gradients' dtypes
    Tensor finite;  ///< pred scalar: no gradient element is NaN or infinite
    Tree state;
  };
  std::function<Unscaled(const Tree& grads, const Tree& state)> unscale;
};
/// Scale 1, always finite (no check is made). State: empty map.
LossScale identity_loss_scale();
/// A fixed scale (> 0). State {"loss_scale" (f32)}.
LossScale static_loss_scale(double scale);
/// Options of dynamic_loss_scale.
struct DynamicLossScaleOptions {
  double init_scale = 32768.0;
  int64_t period = 2000;   ///< finite steps before the scale grows (> 0)
  double factor = 2.0;     ///< growth and shrink factor (> 1)
  double min_scale = 1.0;  ///< the scale never shrinks below this
};
/// Divides the scale by `factor` (not below min_scale) on non-finite gradients (NaN or inf),
/// multiplies it by `factor` after `period` consecutive finite steps (when the result is
/// finite). State {"loss_scale" (f32), "counter" (s64: finite steps since the last change)}.
LossScale dynamic_loss_scale(const DynamicLossScaleOptions& opts = {});
/// `inner`, except that when `finite` (a pred scalar from LossScale::unscale) is false the
/// update is all zeros and the state is left unchanged (skip the step on overflow). Inner runs
/// either way; its results are selected, so nothing non-finite leaks into the state.
UpdateResult skip_if_not_finite(const Transformation& inner, const Tensor& finite,
                                const Tree& updates, const Tree& state, const Tree& params);

}  // namespace axon::optim
