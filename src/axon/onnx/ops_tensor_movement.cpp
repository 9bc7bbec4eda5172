// ONNX tensor family: data movement (Transpose, Concat, Split, Slice, Tile, Pad, DepthToSpace,
// SpaceToDepth, Trilu, ReverseSequence).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <numeric>

#include "axon/onnx/ops_tensor_internal.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/indexing.hpp"
#include "nx/ops/shape.hpp"

namespace axon::onnx_import::tensor_ops {
namespace {

using nx::Tensor;
using Outs = std::vector<Tensor>;

Outs transpose(const OpCall& call) {
  const Tensor& x = call.input(0);
  std::vector<int64_t> perm = call.attr_ints("perm");
  if (perm.empty()) {
    perm.resize(static_cast<size_t>(x.rank()));
    std::iota(perm.rbegin(), perm.rend(), 0);
  }
  if (static_cast<int64_t>(perm.size()) != x.rank())
    call.fail("perm " + dims_str(perm) + " does not match rank " + std::to_string(x.rank()));
  std::vector<bool> seen(perm.size(), false);
  for (int64_t& p : perm) {
    p = norm_axis(call, p, x.rank());
    if (seen[static_cast<size_t>(p)]) call.fail("perm " + dims_str(perm) + " repeats an axis");
    seen[static_cast<size_t>(p)] = true;
  }
  return {nx::transpose(x, perm)};
}

Outs concat(const OpCall& call) {
  std::vector<Tensor> xs;
  for (size_t i = 0; i < call.num_inputs(); ++i)
    if (call.has_input(i)) xs.push_back(call.input(i));
  if (xs.empty()) call.fail("expected at least one input");
  // Concat-1 (opsets 1-3) defaults axis to 1; it is required since.
  if (call.opset() >= 4 && !call.has_attr("axis")) call.fail("missing attribute axis");
  int64_t axis = norm_axis(call, call.attr_int("axis", 1), xs[0].rank());
  // Empty pieces (size 0 along the axis) are dropped: they add nothing.
  std::vector<Tensor> nonempty;
  for (const Tensor& t : xs) {
    if (t.rank() != xs[0].rank())
      call.fail("inputs have ranks " + std::to_string(xs[0].rank()) + " and " +
                std::to_string(t.rank()));
    if (t.shape()[static_cast<size_t>(axis)] != 0) nonempty.push_back(t);
  }
  if (nonempty.empty()) return {nx::concatenate(xs, axis)};
  if (nonempty.size() == 1) return {nonempty[0]};
  return {nx::concatenate(nonempty, axis)};
}

Outs split(const OpCall& call) {
  const Tensor& x = call.input(0);
  int64_t axis = norm_axis(call, call.attr_int("axis", 0), x.rank());
  int64_t dim = x.shape()[static_cast<size_t>(axis)];
  std::vector<int64_t> sizes;
  if (call.opset() >= 13) {
    if (call.has_input(1)) sizes = call.ints_input(1);
  } else if (call.has_attr("split")) {
    sizes = call.attr_ints("split");
  } else if (call.opset() < 2 && call.has_input(1)) {
    sizes = call.ints_input(1);
  }
  auto n = static_cast<int64_t>(call.num_outputs());
  if (sizes.empty()) {
    if (n <= 0 || dim % n != 0)
      call.fail("axis of size " + std::to_string(dim) + " does not split into " +
                std::to_string(n) + " equal parts");
    sizes.assign(static_cast<size_t>(n), dim / n);
  }
  if (std::accumulate(sizes.begin(), sizes.end(), int64_t{0}) != dim)
    call.fail("split sizes " + dims_str(sizes) + " do not add up to " + std::to_string(dim));
  Outs out;
  int64_t start = 0;
  for (int64_t s : sizes) {
    out.push_back(nx::slice_along_axis(x, start, s, axis));
    start += s;
  }
  return out;
}

Outs slice(const OpCall& call) {
  const Tensor& x = call.input(0);
  std::vector<int64_t> starts, ends, axes, steps;
  if (call.opset() < 10) {
    starts = call.attr_ints("starts");
    ends = call.attr_ints("ends");
    axes = call.attr_ints("axes");
  } else {
    starts = call.ints_input(1);
    ends = call.ints_input(2);
    if (call.has_input(3)) axes = call.ints_input(3);
    if (call.has_input(4)) steps = call.ints_input(4);
  }
  if (starts.size() != ends.size())
    call.fail("starts " + dims_str(starts) + " and ends " + dims_str(ends) + " differ in length");
  if (axes.empty()) {
    axes.resize(starts.size());
    std::iota(axes.begin(), axes.end(), 0);
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size())
    call.fail("starts, ends, axes and steps must have one length");
  const nx::Shape& s = x.shape();
  std::vector<int64_t> st(s.size(), 0), len(s.begin(), s.end()), stride(s.size(), 1);
  std::vector<bool> seen(s.size(), false);
  nx::Axes rev;
  for (size_t i = 0; i < axes.size(); ++i) {
    auto a = static_cast<size_t>(norm_axis(call, axes[i], x.rank()));
    if (seen[a]) call.fail("axis " + std::to_string(axes[i]) + " repeated");
    seen[a] = true;
    int64_t dim = s[a], b = starts[i], e = ends[i], step = steps[i];
    if (step == 0) call.fail("steps must not be 0");
    step = std::max<int64_t>(step, -INT64_MAX);
    if (b < 0) b += dim;
    if (e < 0) e += dim;
    if (step > 0) {
      b = std::clamp<int64_t>(b, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      st[a] = b;
      len[a] = e > b ? (e - b - 1) / step + 1 : 0;
      stride[a] = step;
    } else {
      b = std::clamp<int64_t>(b, -1, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      len[a] = b > e ? (b - e - 1) / (-step) + 1 : 0;
      st[a] = dim - 1 - b;  // in the reversed axis
      stride[a] = -step;
      if (len[a] > 0) rev.push_back(static_cast<int64_t>(a));
    }
    if (len[a] == 0) st[a] = 0;
  }
  // nx::slice takes the extent in the input: (n - 1) * stride + 1 elements for n outputs.
  for (size_t a = 0; a < s.size(); ++a)
    if (len[a] > 0) len[a] = (len[a] - 1) * stride[a] + 1;
  Tensor y = rev.empty() ? x : nx::reverse(x, rev);
  return {nx::slice(y, st, len, stride)};
}

Outs tile(const OpCall& call) {
  const Tensor& x = call.input(0);
  std::vector<int64_t> reps = call.ints_input(1);
  if (static_cast<int64_t>(reps.size()) != x.rank())
    call.fail("repeats " + dims_str(reps) + " must have one entry per axis of " +
              dims_str(x.shape()));
  for (int64_t r : reps)
    if (r < 0) call.fail("negative repeat in " + dims_str(reps));
  std::vector<int64_t> out = x.shape();
  for (size_t i = 0; i < out.size(); ++i) out[i] *= std::min<int64_t>(reps[i], int64_t{1} << 34);
  check_result_size(call, out);
  return {nx::tile(x, reps)};
}

Outs pad(const OpCall& call) {
  const Tensor& x = call.input(0);
  std::string mode = call.attr_string("mode", "constant");
  std::vector<int64_t> pads;
  Tensor value = nx::scalar(0.0, x.dtype());
  if (call.opset() < 11) {
    pads = call.attr_ints(call.has_attr("pads") ? "pads" : "paddings");
    value = nx::scalar(call.attr_float("value", 0.0), x.dtype());
  } else {
    pads = call.ints_input(1);
    if (call.has_input(2) && call.input(2).size() > 0)
      value = nx::as_type(nx::reshape(call.input(2), {}), x.dtype());
  }
  auto r = static_cast<size_t>(x.rank());
  std::vector<int64_t> axes(r);
  std::iota(axes.begin(), axes.end(), 0);
  if (call.opset() >= 18 && call.has_input(3)) {
    axes = call.ints_input(3);
    for (int64_t& a : axes) a = norm_axis(call, a, x.rank());
  }
  if (pads.size() != 2 * axes.size())
    call.fail("pads " + dims_str(pads) + " must have 2 entries per padded axis (" +
              std::to_string(axes.size()) + ")");
  std::vector<nx::PadConfig> cfg(r);
  for (size_t i = 0; i < axes.size(); ++i) {
    auto a = static_cast<size_t>(axes[i]);
    cfg[a].lo = pads[i];
    cfg[a].hi = pads[i + axes.size()];
  }
  std::vector<int64_t> out_shape = x.shape();
  for (size_t a = 0; a < r; ++a) {
    const int64_t lim = int64_t{1} << 34;
    if (std::abs(cfg[a].lo) > lim || std::abs(cfg[a].hi) > lim)
      call.fail("pads " + dims_str(pads) + " are too large");
    out_shape[a] += cfg[a].lo + cfg[a].hi;
    if (out_shape[a] < 0)
      call.fail("pads " + dims_str(pads) + " crop more than the input " + dims_str(x.shape()));
  }
  check_result_size(call, out_shape);
  if (mode == "constant") return {nx::pad(x, value, cfg)};
  if (mode != "reflect" && mode != "edge") call.fail("unsupported mode '" + mode + "'");
  Tensor y = x;
  for (size_t a = 0; a < r; ++a) {
    if (cfg[a].lo == 0 && cfg[a].hi == 0) continue;
    int64_t dim = x.shape()[a];
    if (dim == 0) call.fail("cannot pad an empty axis in mode " + mode);
    if (mode == "reflect" && dim == 1 && (cfg[a].lo > 0 || cfg[a].hi > 0))
      call.fail("reflect padding needs an axis of size >= 2");
    std::vector<int64_t> idx;
    for (int64_t j = -cfg[a].lo; j < dim + cfg[a].hi; ++j) {
      int64_t i = j;
      if (mode == "edge") {
        i = std::clamp<int64_t>(j, 0, dim - 1);
      } else {
        int64_t period = 2 * (dim - 1);
        i = ((j % period) + period) % period;
        if (i >= dim) i = period - i;
      }
      idx.push_back(i);
    }
    y = nx::take(y, nx::from_vector(idx), static_cast<int64_t>(a));
  }
  return {y};
}

Outs depth_to_space(const OpCall& call) {
  const Tensor& x = call.input(0);
  if (x.rank() != 4) call.fail("expected a 4-D input, got shape " + dims_str(x.shape()));
  int64_t b = call.attr_int("blocksize", 0);
  const auto& s = x.shape();
  if (b <= 0 || s[1] % (b * b) != 0)
    call.fail("channels " + std::to_string(s[1]) + " do not divide by blocksize^2");
  int64_t n = s[0], c = s[1], h = s[2], w = s[3];
  std::string mode = call.attr_string("mode", "DCR");
  Tensor t;
  if (mode == "DCR") {
    t = nx::transpose(nx::reshape(x, {n, b, b, c / (b * b), h, w}), {0, 3, 4, 1, 5, 2});
  } else if (mode == "CRD") {
    t = nx::transpose(nx::reshape(x, {n, c / (b * b), b, b, h, w}), {0, 1, 4, 2, 5, 3});
  } else {
    call.fail("unknown mode '" + mode + "' (expected DCR or CRD)");
  }
  return {nx::reshape(t, {n, c / (b * b), h * b, w * b})};
}

Outs space_to_depth(const OpCall& call) {
  const Tensor& x = call.input(0);
  if (x.rank() != 4) call.fail("expected a 4-D input, got shape " + dims_str(x.shape()));
  int64_t b = call.attr_int("blocksize", 0);
  const auto& s = x.shape();
  if (b <= 0 || s[2] % b != 0 || s[3] % b != 0)
    call.fail("spatial size " + dims_str({s[2], s[3]}) + " does not divide by blocksize");
  int64_t n = s[0], c = s[1], h = s[2], w = s[3];
  Tensor t = nx::transpose(nx::reshape(x, {n, c, h / b, b, w / b, b}), {0, 3, 5, 1, 2, 4});
  return {nx::reshape(t, {n, c * b * b, h / b, w / b})};
}

Outs trilu(const OpCall& call) {
  const Tensor& x = call.input(0);
  if (x.rank() < 2) call.fail("expected rank >= 2, got shape " + dims_str(x.shape()));
  int64_t k = 0;
  if (call.has_input(1)) k = static_cast<int64_t>(one_value(call, 1, "k"));
  return {call.attr_int("upper", 1) != 0 ? nx::triu(x, k) : nx::tril(x, k)};
}

Outs reverse_sequence(const OpCall& call) {
  const Tensor& x = call.input(0);
  int64_t batch = norm_axis(call, call.attr_int("batch_axis", 1), x.rank());
  int64_t time = norm_axis(call, call.attr_int("time_axis", 0), x.rank());
  if (batch == time) call.fail("batch_axis and time_axis must differ");
  Tensor lens = nx::as_type(call.input(1), nx::s64);
  if (lens.rank() != 1 || lens.axis_size(0) != x.axis_size(batch))
    call.fail("sequence_lens must have shape [" + std::to_string(x.axis_size(batch)) + "]");
  // idx[..., t, ..., b, ...] = t < len[b] ? len[b] - 1 - t : t, then a gather along time.
  Tensor t = nx::iota(x.shape(), time, nx::s64);
  Tensor l = nx::broadcast(lens, x.shape(), {batch});
  Tensor idx =
      nx::select(nx::less(t, l), nx::subtract(nx::subtract(l, nx::scalar_int(1, nx::s64)), t), t);
  return {nx::take_along_axis(x, idx, time)};
}

}  // namespace

void register_movement_ops() {
  register_op({"Transpose", transpose, 1});
  register_op({"Concat", concat, 1});
  register_op({"Split", split, 2});
  register_op({"Slice", slice, 1});
  register_op({"Tile", tile, 6});
  register_op({"Pad", pad, 1});  // Pad-1 names its pads "paddings"
  register_op({"DepthToSpace", depth_to_space, 1});
  register_op({"SpaceToDepth", space_to_depth, 1});
  register_op({"Trilu", trilu, 14});
  register_op({"ReverseSequence", reverse_sequence, 10});
}

}  // namespace axon::onnx_import::tensor_ops
