// The ONNX exporter: gather and scatter (GatherND, ScatterND), dynamic_slice (Slice) and
// dynamic_update_slice (Pad and Where).
#include <algorithm>
#include <limits>
#include <string>
#include <variant>

#include "axon/onnx/export_emit.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"

namespace axon::onnx::detail {

using nx::TensorType;
using nx::detail::Prim;

Emitter::Starts Emitter::clamped_starts(Ctx& c, const Node& na, size_t first,
                                        const std::vector<int64_t>& la,
                                        const std::vector<int64_t>& lb) {
  Starts r;
  r.known = true;
  for (size_t i = first; i < na.in.size(); ++i) {
    const nx::Tensor& t = c.known[static_cast<size_t>(na.in[i])];
    if (!t.defined()) {
      r.known = false;
      break;
    }
    int64_t v = nx::as_type(t, nx::s64).item<int64_t>();
    size_t k = i - first;
    r.a.push_back(std::clamp<int64_t>(v, 0, la[k]));
    r.b.push_back(std::clamp<int64_t>(v, 0, lb[k]));
  }
  if (r.known) return r;
  // Starts computed by the graph: cast, stack and clamp them there.
  std::vector<std::string> starts;
  for (size_t i = first; i < na.in.size(); ++i) {
    auto* n = add(c, "Cast", {c.in(na, i)}, {fresh("start")});
    attr_i(n, "to", ::onnx::TensorProto::INT64);
    starts.push_back(op1(c, "Unsqueeze", {n->output(0), ints(c, {0})}));
  }
  std::string s = starts[0];
  if (starts.size() > 1) {
    auto* n = add(c, "Concat", starts, {fresh("starts")});
    attr_i(n, "axis", 0);
    s = n->output(0);
  }
  r.name = op1(c, "Min",
               {op1(c, "Max", {s, ints(c, std::vector<int64_t>(la.size(), 0))}), ints(c, la, lb)});
  return r;
}

std::vector<std::string> Emitter::emit_index(Ctx& c, const Node& na, const Node& nb) {
  const Prim p = na.prim;
  auto x = [&](size_t i) { return c.in(na, i); };
  const TensorType& ia = c.ta(na.in[0]);
  const TensorType& ib = c.tb(na.in[0]);
  const int64_t rank = static_cast<int64_t>(ia.shape.size());
  auto cast64 = [&](const std::string& v) {
    auto* n = add(c, "Cast", {v}, {fresh("idx")});
    attr_i(n, "to", ::onnx::TensorProto::INT64);
    return n->output(0);
  };

  if (p == Prim::dynamic_slice) {
    const auto& sz_a = std::get<nx::detail::DynamicSliceParams>(na.params).sizes;
    const auto& sz_b = std::get<nx::detail::DynamicSliceParams>(nb.params).sizes;
    std::vector<int64_t> la, lb, axes;
    for (size_t i = 0; i < sz_a.size(); ++i) {
      la.push_back(ia.shape[i] - sz_a[i]);
      lb.push_back(ib.shape[i] - sz_b[i]);
      axes.push_back(static_cast<int64_t>(i));
    }
    Starts s = clamped_starts(c, na, 1, la, lb);
    if (s.known) {
      std::vector<int64_t> ea, eb;
      for (size_t i = 0; i < sz_a.size(); ++i) {
        bool to_end = s.a[i] + sz_a[i] == ia.shape[i] && s.b[i] + sz_b[i] == ib.shape[i];
        ea.push_back(to_end ? std::numeric_limits<int64_t>::max() : s.a[i] + sz_a[i]);
        eb.push_back(to_end ? std::numeric_limits<int64_t>::max() : s.b[i] + sz_b[i]);
      }
      return {op1(c, "Slice", {x(0), ints(c, s.a, s.b), ints(c, ea, eb), ints(c, axes)})};
    }
    std::string e = op1(c, "Add", {s.name, ints(c, sz_a, sz_b)});
    return {op1(c, "Slice", {x(0), s.name, e, ints(c, axes)})};
  }

  if (p == Prim::dynamic_update_slice) {
    // The update padded into place (Pad) and selected where a padded mask of ones is set.
    const TensorType& ua = c.ta(na.in[1]);
    const TensorType& ub = c.tb(na.in[1]);
    std::vector<int64_t> la, lb;
    for (int64_t i = 0; i < rank; ++i) {
      la.push_back(ia.shape[static_cast<size_t>(i)] - ua.shape[static_cast<size_t>(i)]);
      lb.push_back(ib.shape[static_cast<size_t>(i)] - ub.shape[static_cast<size_t>(i)]);
    }
    Starts s = clamped_starts(c, na, 2, la, lb);
    std::string pads;
    if (s.known) {
      std::vector<int64_t> pa = s.a, pb = s.b;
      for (int64_t i = 0; i < rank; ++i) {
        pa.push_back(la[static_cast<size_t>(i)] - s.a[static_cast<size_t>(i)]);
        pb.push_back(lb[static_cast<size_t>(i)] - s.b[static_cast<size_t>(i)]);
      }
      pads = ints(c, pa, pb);
    } else {
      auto* n =
          add(c, "Concat", {s.name, op1(c, "Sub", {ints(c, la, lb), s.name})}, {fresh("pads")});
      attr_i(n, "axis", 0);
      pads = n->output(0);
    }
    const bool pred = ua.dtype == nx::DType::Pred;
    const nx::DType dt = pred ? nx::DType::S32 : ua.dtype;
    std::string u = x(1);
    if (pred) {
      auto* n = add(c, "Cast", {u}, {fresh("as_int")});
      attr_i(n, "to", ::onnx::TensorProto::INT32);
      u = n->output(0);
    }
    std::string zero = scalar(0, dt);
    std::string padded = op1(c, "Pad", {u, pads, zero});
    std::string ones = op1(c, "Expand", {scalar(1, dt), op1(c, "Shape", {x(1)})});
    auto* m = add(c, "Cast", {op1(c, "Pad", {ones, pads, zero})}, {fresh("mask")});
    attr_i(m, "to", ::onnx::TensorProto::BOOL);
    if (pred) {
      auto* n = add(c, "Cast", {padded}, {fresh("as_pred")});
      attr_i(n, "to", ::onnx::TensorProto::BOOL);
      padded = n->output(0);
    }
    return {op1(c, "Where", {m->output(0), padded, x(0)})};
  }

  // gather / scatter: the last axis of the indices addresses `axes` of the operand. ONNX's
  // GatherND/ScatterND address the leading axes, so move `axes` to the front first.
  const auto& axes = std::get<nx::detail::GatherParams>(na.params).axes;
  std::vector<int64_t> perm(axes.begin(), axes.end());
  for (int64_t i = 0; i < rank; ++i)
    if (std::find(axes.begin(), axes.end(), i) == axes.end()) perm.push_back(i);
  bool identity = true;
  for (size_t i = 0; i < perm.size(); ++i) identity = identity && perm[i] == int64_t(i);
  std::string data = x(0);
  if (!identity) {
    auto* t = add(c, "Transpose", {data}, {fresh("to_gather")});
    attr_ints(t, "perm", perm);
    data = t->output(0);
  }
  // Out-of-range indices clamp into range, as in nx.
  std::vector<int64_t> hi_a, hi_b;
  for (int64_t a : axes) {
    hi_a.push_back(ia.shape[static_cast<size_t>(a)] - 1);
    hi_b.push_back(ib.shape[static_cast<size_t>(a)] - 1);
  }
  std::string idx = cast64(x(1));
  idx = op1(
      c, "Min",
      {op1(c, "Max", {idx, ints(c, std::vector<int64_t>(axes.size(), 0))}), ints(c, hi_a, hi_b)});
  if (p == Prim::gather) return {op1(c, "GatherND", {data, idx})};
  auto* n = add(c, "ScatterND", {data, idx, x(2)}, {fresh("scatter")});
  if (p == Prim::scatter_add) attr_s(n, "reduction", "add");
  std::string v = n->output(0);
  if (!identity) {
    std::vector<int64_t> inv(perm.size());
    for (size_t i = 0; i < perm.size(); ++i) inv[static_cast<size_t>(perm[i])] = int64_t(i);
    auto* t = add(c, "Transpose", {v}, {fresh("from_scatter")});
    attr_ints(t, "perm", inv);
    v = t->output(0);
  }
  return {v};
}

}  // namespace axon::onnx::detail
