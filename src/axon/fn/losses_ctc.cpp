// Connectionist temporal classification (Graves et al. 2006): the forward algorithm in log
// space as one nx::scan over time, so the graph is O(1) in T and the gradient is the scan's own
// reverse pass (the alpha-beta recursion, derived rather than written by hand).
//
// With labels l (length S), the extended sequence l' = [blank, l1, blank, l2, ..., lS, blank]
// has L = 2S + 1 states. alpha_t(s) is the log-probability of all alignment prefixes of frames
// 0..t that end in state s:
//   alpha_t(s) = logsumexp(alpha_{t-1}(s), alpha_{t-1}(s-1), [alpha_{t-1}(s-2)]) + lp_t(l'_s)
// where the skip from s-2 is allowed when l'_s is not blank and differs from l'_{s-2}. The scan
// starts from a virtual alpha_{-1} = [0, -inf, ...], which makes alpha_0 the usual
// initialisation, and frames past a sample's input length leave its alpha unchanged. The loss
// is -logsumexp(alpha_{T_b-1}(2 S_b), alpha_{T_b-1}(2 S_b - 1)).
#include <string>
#include <vector>

#include "axon/fn/check.hpp"
#include "losses_internal.hpp"
#include "nx/defn.hpp"
#include "nx/dtype.hpp"
#include "nx/ops/constants.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/indexing.hpp"
#include "nx/ops/reduce.hpp"
#include "nx/ops/shape.hpp"

namespace axon::fn::losses {

using fn::detail::describe;
using fn::detail::fail;

namespace {

constexpr std::string_view kFn = "ctc_loss";

// log(exp(a) + exp(b) + exp(c)), elementwise, where any of the terms may be -inf: all -inf
// gives -inf with a zero gradient (not the NaN of 0/0), and the shift by the maximum carries no
// gradient (the result does not depend on it).
Tensor log_add_exp(const std::vector<Tensor>& terms) {
  Tensor m = terms[0];
  for (size_t i = 1; i < terms.size(); ++i) m = nx::max(m, terms[i]);
  const Tensor neg_inf = nx::neg_infinity(m.dtype());
  Tensor shift = nx::stop_grad(nx::select(nx::equal(m, neg_inf), 0.0, m));
  Tensor total = nx::exp(terms[0] - shift);
  for (size_t i = 1; i < terms.size(); ++i) total = total + nx::exp(terms[i] - shift);
  Tensor some = nx::greater(total, 0.0);
  return nx::select(some, shift + nx::log(nx::select(some, total, 1.0)), neg_inf);
}

// x shifted right by `by` along axis 1, filled with -inf.
Tensor shift_right(const Tensor& x, int64_t by) {
  return nx::pad(x, nx::neg_infinity(x.dtype()), {{0, 0, 0}, {by, -by, 0}});
}

// Integer ids shifted right by two along axis 1, filled with -1 (no class).
Tensor shift_right_int(const Tensor& ids) {
  return nx::pad(ids, nx::scalar_int(-1, ids.dtype()), {{0, 0, 0}, {2, -2, 0}});
}

void check_lengths(const Tensor& lengths, std::string_view what, int64_t batch, int64_t most) {
  if (!nx::is_integer(lengths.dtype()) || lengths.shape() != nx::Shape{batch}) {
    fail(kFn, std::string(what) + " must be an integer tensor of shape {" + std::to_string(batch) +
                  "}, got " + describe(lengths));
  }
  if (lengths.is_traced()) return;
  // Read on the host (not with nx ops, which would be traced inside an enclosing grad or jit).
  for (int64_t v : lengths.to_vector<int64_t>()) {
    if (v < 0 || v > most) {
      fail(kFn, std::string(what) + " must lie in [0, " + std::to_string(most) + "], got " +
                    std::to_string(v));
    }
  }
}

// Labels within their lengths must be class ids (checked when both are concrete).
void check_labels(const Tensor& labels, const Tensor& label_lengths, int64_t classes) {
  if (labels.is_traced() || label_lengths.is_traced()) return;
  const std::vector<int64_t> ids = labels.to_vector<int64_t>();
  const std::vector<int64_t> lengths = label_lengths.to_vector<int64_t>();
  const size_t width = static_cast<size_t>(labels.shape()[1]);
  for (size_t b = 0; b < lengths.size(); ++b) {
    for (size_t s = 0; s < static_cast<size_t>(lengths[b]); ++s) {
      const int64_t v = ids[b * width + s];
      if (v < 0 || v >= classes) {
        fail(kFn, "labels must be class ids in [0, " + std::to_string(classes) +
                      ") within their lengths, got " + std::to_string(v) + " in sample " +
                      std::to_string(b));
      }
    }
  }
}

}  // namespace

Tensor ctc_loss(const Tensor& log_probs, const Tensor& input_lengths, const Tensor& labels,
                const Tensor& label_lengths, const CtcOptions& opts) {
  fn::detail::check_rank(kFn, "log_probs", log_probs, 3);
  fn::detail::check_float(kFn, "log_probs", log_probs);
  detail::check_reduction(kFn, opts.reduction);
  const int64_t batch = log_probs.shape()[0];
  const int64_t frames = log_probs.shape()[1];
  const int64_t classes = log_probs.shape()[2];
  if (!nx::is_integer(labels.dtype()) || labels.rank() != 2 || labels.shape()[0] != batch) {
    fail(kFn, "labels must be an integer tensor of shape {" + std::to_string(batch) +
                  ", S} (the batch of log_probs " + describe(log_probs) + "), got " +
                  describe(labels));
  }
  if (opts.blank < 0 || opts.blank >= classes) {
    fail(kFn, "blank must be a class id in [0, " + std::to_string(classes) + "), got " +
                  std::to_string(opts.blank));
  }
  const int64_t max_labels = labels.shape()[1];
  check_lengths(input_lengths, "input_lengths", batch, frames);
  check_lengths(label_lengths, "label_lengths", batch, max_labels);
  check_labels(labels, label_lengths, classes);
  const nx::DType dt = log_probs.dtype();
  const int64_t states = 2 * max_labels + 1;

  // Extended labels [B][L]; padding past each label length becomes blank, so any padding value
  // (even an invalid class) is harmless.
  Tensor lab_len = nx::reshape(nx::as_type(label_lengths, nx::s64), {batch, 1});
  Tensor in_label = nx::less(nx::iota({batch, max_labels}, 1, nx::s64), lab_len);
  Tensor blank = nx::full({batch, max_labels}, static_cast<double>(opts.blank), nx::s64);
  Tensor lab = nx::select(in_label, nx::as_type(labels, nx::s64), blank);
  Tensor ext = nx::reshape(nx::stack({blank, lab}, 2), {batch, 2 * max_labels});
  ext = nx::concatenate({ext, nx::full({batch, 1}, static_cast<double>(opts.blank), nx::s64)}, 1);
  Tensor skip =
      nx::logical_and(nx::not_equal(ext, opts.blank), nx::not_equal(ext, shift_right_int(ext)));

  // Per-frame log-probabilities of each extended state, time-major: [T][B][L].
  Tensor index = nx::broadcast(nx::reshape(ext, {batch, 1, states}), {batch, frames, states});
  Tensor lp = nx::transpose(nx::take_along_axis(log_probs, index, 2), {1, 0, 2});
  Tensor in_len = nx::reshape(nx::as_type(input_lengths, nx::s64), {1, batch, 1});
  Tensor active = nx::less(nx::iota({frames, batch, 1}, 0, nx::s64), in_len);  // [T][B][1]

  const Tensor neg_inf = nx::neg_infinity(dt);
  Tensor start = nx::select(nx::equal(nx::iota({batch, states}, 1, nx::s64), 0),
                            nx::zeros({batch, states}, dt), neg_inf);
  nx::ScanResult run =
      nx::scan(nx::Tree(start), nx::Tree::list({nx::Tree(lp), nx::Tree(active)}),
               [&](const nx::Tree& carry, const nx::Tree& x) -> std::pair<nx::Tree, nx::Tree> {
                 const Tensor& alpha = carry.leaf();
                 Tensor from_skip = nx::select(skip, shift_right(alpha, 2), neg_inf);
                 Tensor next = log_add_exp({alpha, shift_right(alpha, 1), from_skip}) + x[0].leaf();
                 return {nx::Tree(nx::select(x[1].leaf(), next, alpha)), nx::Tree()};
               });
  Tensor alpha = run.carry.leaf();

  // The two accepting states: the last label (2 S_b - 1, absent when S_b = 0) and the blank
  // after it (2 S_b).
  Tensor last = 2 * lab_len;
  Tensor end_blank = nx::take_along_axis(alpha, last, 1);
  Tensor has_labels = nx::greater(lab_len, 0);
  Tensor end_label = nx::select(
      has_labels, nx::take_along_axis(alpha, nx::select(has_labels, last - 1, last), 1), neg_inf);
  Tensor loss = -nx::reshape(log_add_exp({end_blank, end_label}), {batch});
  if (opts.zero_infinity) {
    loss = nx::select(nx::is_infinity(loss), nx::zeros({batch}, dt), loss);
  }
  switch (opts.reduction) {
    case Reduction::Mean:
      return nx::mean(loss / nx::as_type(nx::max(nx::reshape(lab_len, {batch}), 1), dt));
    case Reduction::Sum:
      return nx::sum(loss);
    case Reduction::None:
      break;
  }
  return loss;
}

Tensor connectionist_temporal_classification(const CtcTargets& y_true, const Tensor& y_pred,
                                             const CtcOptions& opts) {
  fn::detail::check_rank("connectionist_temporal_classification", "y_pred", y_pred, 3);
  Tensor frames = nx::full({y_pred.shape()[0]}, static_cast<double>(y_pred.shape()[1]), nx::s64);
  return ctc_loss(y_pred, frames, y_true.labels, y_true.lengths, opts);
}

}  // namespace axon::fn::losses
