// Helpers shared by the transformations of axon::optim: input checks that name the
// transformation and the leaf path, state access, hyperparameters, and leafwise zips.
#pragma once

#include <functional>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "axon/optim.hpp"
#include "nx/dtype.hpp"

namespace axon::optim::detail {

/// "axon::optim::<name>", the prefix of every error a transformation throws.
std::string who(std::string_view name);
/// "'dense.kernel'", or "the root leaf" for the empty path.
std::string path_label(const std::string& path);
/// path + "." + segment, or segment for the root.
std::string join_path(const std::string& path, const std::string& segment);

/// Throws unless every leaf of `tree` is floating point; `what` names the tree ("update").
void check_float_leaves(const std::string& who, const Tree& tree, const char* what);
/// Throws unless `got` has the structure of `want` (and, with `shapes`, the same leaf shapes),
/// naming the first path where they differ.
void check_like(const std::string& who, const Tree& want, const char* want_name, const Tree& got,
                const char* got_name, bool shapes = true);
/// Throws unless `after` has the structure and leaf types of `before` (a state an update
/// returned, compared with the one it got).
void check_same_types(const std::string& who, const Tree& before, const Tree& after,
                      const char* what);

/// state[key], throwing when `state` is not a map with that key.
const Tree& field(const std::string& who, const Tree& state, std::string_view key);
/// state[key] as an integer scalar (a step count).
Tensor count_field(const std::string& who, const Tree& state, std::string_view key);
/// True when `params` is given: an empty map with non-empty updates means "no parameters".
bool has_params(const Tree& params, const Tree& updates);
/// Throws unless `params` is given and shaped like `updates`.
void require_params(const std::string& who, const Tree& params, const Tree& updates);

/// The dtype of moments and accumulators for a leaf of dtype t: f64 for f64, f32 otherwise.
nx::DType moment_dtype(nx::DType t);
/// A tree like `like` with every leaf filled with `value` in its moment dtype.
Tree fill_moments(const Tree& like, double value);
/// The s64 scalar 0 (a fresh step count).
Tensor zero_count();
/// An f64 scalar.
Tensor f64(double value);
/// x converted to dtype (x itself when it already has it).
Tensor cast(const Tensor& x, nx::DType dtype);

/// The "hyperparams" map of a state: f64 scalars in the given order.
Tree make_hyperparams(std::initializer_list<std::pair<const char*, double>> values);
/// state["hyperparams"][name] as an f64 scalar, throwing when absent or not a scalar.
Tensor hyperparam(const std::string& who, const Tree& state, std::string_view name);

/// Scalars computed once in f64 and handed out converted to each leaf's dtype (each dtype
/// converted once, so a model with hundreds of leaves adds no per-leaf scalar ops).
class Scalars {
 public:
  explicit Scalars(std::vector<Tensor> values) : values_(std::move(values)) {}
  /// The values converted to `dtype` (pred values stay pred), in the order given.
  const std::vector<Tensor>& in(nx::DType dtype);

 private:
  std::vector<Tensor> values_;
  std::vector<std::pair<nx::DType, std::vector<Tensor>>> converted_;
};

/// Applies fn leafwise to trees of one structure (checked by the caller), producing n_out
/// trees of that structure.
std::vector<Tree> zip(std::span<const Tree> trees, size_t n_out,
                      const std::function<std::vector<Tensor>(std::span<const Tensor>)>& fn);

/// The learning-rate stage with a sign: updates * sign * lr(count) * lr_scale (`name` for
/// errors). scale_by_learning_rate is sign -1; Adafactor uses +1 and negates at the end.
Transformation learning_rate_stage(const Rate& lr, double sign, std::string_view name);
/// chain() whose errors name `name` (the optimizers are chains).
Transformation named_chain(std::string_view name, std::vector<Transformation> transformations);

/// The per-leaf step of a moment-based transformation: gets the update (converted to the
/// moments' dtype) and the moments of one leaf, and the scalars (in that dtype); returns the
/// output update followed by the new moments.
using MomentStep = std::function<std::vector<Tensor>(std::span<const Tensor> g_and_moments,
                                                     const std::vector<Tensor>& scalars)>;
/// Computes the step's scalars in f64 from the hyperparameters (in the order declared) and the
/// step number t = count + 1 (an f64 scalar; undefined when the transformation has no count).
using MomentScalars =
    std::function<std::vector<Tensor>(const std::vector<Tensor>& hyperparams, const Tensor& t)>;
/// Declares a moment-based transformation. State: a map with one tree per moment (the
/// parameters' structure, in the moment dtype, filled with the given initial values), then
/// "count" when `counted`, then "hyperparams". Checks inputs and state before every step.
Transformation moment_transformation(const char* name,
                                     std::vector<std::pair<const char*, double>> moments,
                                     bool counted,
                                     std::vector<std::pair<const char*, double>> hyperparams,
                                     MomentScalars scalars, MomentStep step);

// Stages of the optimizers beyond Polaris (adamax.cpp, nadam.cpp, lion.cpp, adafactor.cpp).
Transformation scale_by_adamax(double b1, double b2, double eps);
Transformation scale_by_nadam(double b1, double b2, double eps, double momentum_decay);
Transformation scale_by_lion(double b1, double b2);
Transformation scale_by_factored_rms(double decay_rate, double eps1, int64_t min_dim);
Transformation clip_by_block_rms(double threshold);
Transformation scale_by_param_block_rms(double min_scale);
Transformation ema(double decay);

}  // namespace axon::optim::detail
