// The ONNX exporter: the elementwise, movement, reduction, contraction and sort primitives.
#include "axon/onnx/export_emit.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <numbers>
#include <numeric>
#include <string>
#include <variant>

#include "nx/core/dispatch.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"

namespace axon::onnx::detail {

using nx::DType;
using nx::Tensor;
using nx::TensorType;
using nx::detail::NodeKind;
using nx::detail::Prim;

namespace {

const char* unary_op(Prim p) {
  switch (p) {
    case Prim::negate:
      return "Neg";
    case Prim::abs:
      return "Abs";
    case Prim::sign:
      return "Sign";
    case Prim::exp:
      return "Exp";
    case Prim::log:
      return "Log";
    case Prim::sqrt:
      return "Sqrt";
    case Prim::sin:
      return "Sin";
    case Prim::cos:
      return "Cos";
    case Prim::tan:
      return "Tan";
    case Prim::asin:
      return "Asin";
    case Prim::acos:
      return "Acos";
    case Prim::atan:
      return "Atan";
    case Prim::sinh:
      return "Sinh";
    case Prim::cosh:
      return "Cosh";
    case Prim::tanh:
      return "Tanh";
    case Prim::asinh:
      return "Asinh";
    case Prim::acosh:
      return "Acosh";
    case Prim::atanh:
      return "Atanh";
    case Prim::erf:
      return "Erf";
    case Prim::sigmoid:
      return "Sigmoid";
    case Prim::floor:
      return "Floor";
    case Prim::ceil:
      return "Ceil";
    case Prim::round_even:
      return "Round";
    case Prim::is_nan:
      return "IsNaN";
    case Prim::is_infinity:
      return "IsInf";
    case Prim::add:
      return "Add";
    case Prim::subtract:
      return "Sub";
    case Prim::multiply:
      return "Mul";
    case Prim::divide:
      return "Div";
    case Prim::quotient:
      return "Div";
    case Prim::pow:
      return "Pow";
    case Prim::max:
      return "Max";
    case Prim::min:
      return "Min";
    case Prim::equal:
      return "Equal";
    case Prim::less:
      return "Less";
    case Prim::less_equal:
      return "LessOrEqual";
    case Prim::greater:
      return "Greater";
    case Prim::greater_equal:
      return "GreaterOrEqual";
    case Prim::select:
      return "Where";
    default:
      return nullptr;
  }
}

}  // namespace

std::vector<std::string> Emitter::emit_prim(Ctx& c, const Node& na, const Node& nb) {
  const Prim p = na.prim;
  const TensorType& out_a = c.ta(na.out[0]);
  const TensorType& out_b = c.tb(na.out[0]);
  const DType in_dt = na.in.empty() ? out_a.dtype : c.ta(na.in[0]).dtype;
  auto x = [&](size_t i) { return c.in(na, i); };
  auto un = [&](const char* op) { return std::vector<std::string>{op1(c, op, {x(0)})}; };
  auto bin = [&](const char* op) { return std::vector<std::string>{op1(c, op, {x(0), x(1)})}; };
  auto one = [&](double v) { return scalar(v, in_dt); };

  if (const char* op = unary_op(p)) {
    if (nx::detail::info(p).inputs == 1) return un(op);
    if (p == Prim::select) return {op1(c, op, {x(0), x(1), x(2)})};
    return bin(op);
  }
  switch (p) {
    case Prim::expm1:
      return {op1(c, "Sub", {op1(c, "Exp", {x(0)}), one(1)})};
    case Prim::log1p:
      return {op1(c, "Log", {op1(c, "Add", {x(0), one(1)})})};
    case Prim::rsqrt:
      return {op1(c, "Reciprocal", {op1(c, "Sqrt", {x(0)})})};
    case Prim::cbrt: {
      std::string m = op1(c, "Pow", {op1(c, "Abs", {x(0)}), one(1.0 / 3.0)});
      return {op1(c, "Mul", {op1(c, "Sign", {x(0)}), m})};
    }
    case Prim::erfc:
      return {op1(c, "Sub", {one(1), op1(c, "Erf", {x(0)})})};
    case Prim::round: {  // half away from zero
      std::string f = op1(c, "Floor", {op1(c, "Add", {op1(c, "Abs", {x(0)}), one(0.5)})});
      return {op1(c, "Mul", {op1(c, "Sign", {x(0)}), f})};
    }
    case Prim::trunc:
      return {op1(c, "Mul", {op1(c, "Sign", {x(0)}), op1(c, "Floor", {op1(c, "Abs", {x(0)})})})};
    case Prim::bitwise_not:
      if (in_dt == DType::Pred) return un("Not");
      if (in_dt == DType::S8 || in_dt == DType::S16 || in_dt == DType::S32 || in_dt == DType::S64)
        return {op1(c, "Sub", {op1(c, "Neg", {x(0)}), one(1)})};
      unsupported(p, "bitwise not of unsigned integers needs opset 18");
    case Prim::bitwise_and:
    case Prim::bitwise_or:
    case Prim::bitwise_xor:
      if (in_dt != DType::Pred) unsupported(p, "integer bitwise ops need opset 18");
      return bin(p == Prim::bitwise_and ? "And" : p == Prim::bitwise_or ? "Or" : "Xor");
    case Prim::not_equal:
      return {op1(c, "Not", {op1(c, "Equal", {x(0), x(1)})})};
    case Prim::remainder: {
      auto* n = add(c, "Mod", {x(0), x(1)}, {fresh("mod")});
      attr_i(n, "fmod", 1);
      return {n->output(0)};
    }
    case Prim::atan2: {
      // atan(y / x), moved to the right quadrant; x == 0 gives +-pi/2 (0 when y == 0 too).
      std::string y = x(0), xx = x(1);
      std::string zero = one(0);
      std::string r = op1(c, "Atan", {op1(c, "Div", {y, xx})});
      std::string pi =
          op1(c, "Where",
              {op1(c, "GreaterOrEqual", {y, zero}), one(std::numbers::pi), one(-std::numbers::pi)});
      r = op1(c, "Where", {op1(c, "Less", {xx, zero}), op1(c, "Add", {r, pi}), r});
      std::string axis = op1(c, "Mul", {op1(c, "Sign", {y}), one(std::numbers::pi / 2)});
      return {op1(c, "Where", {op1(c, "Equal", {xx, zero}), axis, r})};
    }
    case Prim::convert: {
      auto* n = add(c, "Cast", {x(0)}, {fresh("cast")});
      attr_i(n, "to", onnx_dtype(out_a.dtype));
      return {n->output(0)};
    }
    case Prim::broadcast_in_dim: {
      const auto& pa = std::get<nx::detail::BroadcastParams>(na.params);
      const auto& pb = std::get<nx::detail::BroadcastParams>(nb.params);
      std::string v = x(0);
      std::vector<int64_t> missing;
      for (int64_t i = 0; i < static_cast<int64_t>(pa.shape.size()); ++i)
        if (std::find(pa.axes.begin(), pa.axes.end(), i) == pa.axes.end()) missing.push_back(i);
      if (!missing.empty()) v = op1(c, "Unsqueeze", {v, ints(c, missing)});
      // Expand only what differs (Expand keeps a dim where the shape says 1).
      const TensorType& ia = c.ta(na.in[0]);
      const TensorType& ib = c.tb(na.in[0]);
      std::vector<int64_t> sa(pa.shape.size(), 1), sb(pb.shape.size(), 1);
      bool needed = false;
      for (size_t k = 0; k < pa.axes.size(); ++k) {
        size_t ax = static_cast<size_t>(pa.axes[k]);
        if (ia.shape[k] != pa.shape[ax] || ib.shape[k] != pb.shape[ax]) {
          sa[ax] = pa.shape[ax];
          sb[ax] = pb.shape[ax];
          needed = true;
        }
      }
      for (int64_t m : missing) {
        sa[static_cast<size_t>(m)] = pa.shape[static_cast<size_t>(m)];
        sb[static_cast<size_t>(m)] = pb.shape[static_cast<size_t>(m)];
        needed = needed || pa.shape[static_cast<size_t>(m)] != 1 ||
                 pb.shape[static_cast<size_t>(m)] != 1;
      }
      if (needed)
        v = expand(c, v, sa, sb, out_a.dtype);
      else if (v == x(0))
        v = op1(c, "Identity", {v});
      return {v};
    }
    case Prim::reshape: {
      const auto& sa = std::get<nx::detail::ReshapeParams>(na.params).shape;
      const auto& sb = std::get<nx::detail::ReshapeParams>(nb.params).shape;
      return {reshape_to(c, x(0), sa, sb)};
    }
    case Prim::transpose: {
      auto* n = add(c, "Transpose", {x(0)}, {fresh("transpose")});
      attr_ints(n, "perm", std::get<nx::detail::AxesParams>(na.params).axes);
      return {n->output(0)};
    }
    case Prim::slice: {
      const auto& pa = std::get<nx::detail::SliceParams>(na.params);
      const auto& pb = std::get<nx::detail::SliceParams>(nb.params);
      const TensorType& ia = c.ta(na.in[0]);
      const TensorType& ib = c.tb(na.in[0]);
      std::vector<int64_t> axes, sa, sb, ea, eb, st;
      for (size_t i = 0; i < pa.start.size(); ++i) {
        bool full_a = pa.start[i] == 0 && pa.limit[i] == ia.shape[i] && pa.strides[i] == 1;
        bool full_b = pb.start[i] == 0 && pb.limit[i] == ib.shape[i] && pb.strides[i] == 1;
        if (full_a && full_b) continue;
        if (pa.strides[i] != pb.strides[i]) throw NotDynamic("a slice stride depends on the batch");
        axes.push_back(static_cast<int64_t>(i));
        sa.push_back(pa.start[i]);
        sb.push_back(pb.start[i]);
        // A slice to the end (in both traces) ends at "the end", a constant.
        bool to_end = pa.limit[i] == ia.shape[i] && pb.limit[i] == ib.shape[i] && pa.strides[i] > 0;
        ea.push_back(to_end ? std::numeric_limits<int64_t>::max() : pa.limit[i]);
        eb.push_back(to_end ? std::numeric_limits<int64_t>::max() : pb.limit[i]);
        st.push_back(pa.strides[i]);
      }
      if (axes.empty()) return {op1(c, "Identity", {x(0)})};
      return {
          op1(c, "Slice", {x(0), ints(c, sa, sb), ints(c, ea, eb), ints(c, axes), ints(c, st)})};
    }
    case Prim::pad: {
      const auto& pa = std::get<nx::detail::PadParams>(na.params);
      const TensorType& ia = c.ta(na.in[0]);
      const TensorType& ib = c.tb(na.in[0]);
      std::string v = x(0);
      nx::Shape sa = ia.shape, sb = ib.shape;
      // Interior padding: each element followed by `k` pad values (Unsqueeze, Pad, Reshape),
      // the trailing ones sliced off.
      for (size_t i = 0; i < pa.interior.size(); ++i) {
        const int64_t k = pa.interior[i];
        if (k == 0 || sa[i] == 0) continue;
        const int64_t r = static_cast<int64_t>(sa.size());
        v = op1(c, "Unsqueeze", {v, ints(c, {static_cast<int64_t>(i) + 1})});
        std::vector<int64_t> pads(static_cast<size_t>(2 * (r + 1)), 0);
        pads[static_cast<size_t>(r + 1) + i + 1] = k;
        auto* n = add(c, "Pad", {v, ints(c, pads), x(1)}, {fresh("interior")});
        attr_s(n, "mode", "constant");
        nx::Shape ma = sa, mb = sb;
        ma[i] = sa[i] * (k + 1);
        mb[i] = sb[i] * (k + 1);
        v = reshape_to(c, n->output(0), ma, mb);
        ma[i] -= k;
        mb[i] -= k;
        v = op1(c, "Slice",
                {v, ints(c, {0}), ints(c, {ma[i]}, {mb[i]}), ints(c, {static_cast<int64_t>(i)})});
        sa = ma;
        sb = mb;
      }
      std::vector<int64_t> pads = pa.lo;
      pads.insert(pads.end(), pa.hi.begin(), pa.hi.end());
      if (std::all_of(pads.begin(), pads.end(), [](int64_t e) { return e == 0; }))
        return {v == x(0) ? op1(c, "Identity", {v}) : v};
      auto* n = add(c, "Pad", {v, ints(c, pads), x(1)}, {fresh("pad")});
      attr_s(n, "mode", "constant");
      return {n->output(0)};
    }
    case Prim::concatenate: {
      std::vector<std::string> ins;
      for (size_t i = 0; i < na.in.size(); ++i) ins.push_back(x(i));
      auto* n = add(c, "Concat", ins, {fresh("concat")});
      attr_i(n, "axis", std::get<nx::detail::ConcatParams>(na.params).axis);
      return {n->output(0)};
    }
    case Prim::reverse: {
      const auto& axes = std::get<nx::detail::AxesParams>(na.params).axes;
      if (axes.empty()) return {op1(c, "Identity", {x(0)})};
      size_t k = axes.size();
      return {op1(c, "Slice",
                  {x(0), ints(c, std::vector<int64_t>(k, -1)),
                   ints(c, std::vector<int64_t>(k, std::numeric_limits<int64_t>::min())),
                   ints(c, axes), ints(c, std::vector<int64_t>(k, -1))})};
    }
    case Prim::iota: {
      const auto& ip = std::get<nx::detail::IotaParams>(na.params);
      if (out_a.shape == out_b.shape)
        return {initializer(nx::detail::bind_concrete(p, {}, na.params)[0], "iota")};
      // Batch-dependent shape: counting along a fixed axis is a constant broadcast over the
      // batch dims; counting along the batch dim is a Range.
      if (ip.axis < 0) throw NotDynamic("a flat iota's shape depends on the batch");
      size_t ax = static_cast<size_t>(ip.axis);
      nx::Shape small = out_a.shape;
      for (size_t i = 0; i < small.size(); ++i)
        if (out_a.shape[i] != out_b.shape[i]) small[i] = 1;
      if (out_a.shape[ax] == out_b.shape[ax]) {
        auto params = ip;
        params.shape = small;
        std::string k = initializer(nx::detail::bind_concrete(p, {}, params)[0], "iota");
        return {expand(c, k, out_a.shape, out_b.shape, out_a.dtype)};
      }
      if (out_a.shape[ax] != kBatchA || out_b.shape[ax] != kBatchB)
        throw NotDynamic("an iota's length is not the batch size");
      std::string lim = op1(c, "Squeeze", {batch_, ints(c, {0})});
      std::string r = op1(c, "Range", {int_scalar(0), lim, int_scalar(1)});
      auto* n = add(c, "Cast", {r}, {fresh("iota")});
      attr_i(n, "to", onnx_dtype(out_a.dtype));
      std::vector<int64_t> axes;
      for (size_t i = 0; i < small.size(); ++i)
        if (i != ax) axes.push_back(static_cast<int64_t>(i));
      r = n->output(0);
      if (!axes.empty()) r = op1(c, "Unsqueeze", {r, ints(c, axes)});
      r = expand(c, r, out_a.shape, out_b.shape, out_a.dtype);
      return {r};
    }
    case Prim::reduce_sum:
    case Prim::reduce_prod:
    case Prim::reduce_max:
    case Prim::reduce_min:
    case Prim::reduce_and:
    case Prim::reduce_or: {
      const auto& axes = std::get<nx::detail::AxesParams>(na.params).axes;
      std::string v = x(0);
      bool logical = p == Prim::reduce_and || p == Prim::reduce_or;
      if (logical) {
        if (in_dt != DType::Pred) {
          v = op1(c, "Not", {op1(c, "Equal", {v, one(0)})});
        }
        auto* n = add(c, "Cast", {v}, {fresh("cast")});
        attr_i(n, "to", ::onnx::TensorProto::INT32);
        v = n->output(0);
      }
      if (axes.empty()) {
        v = op1(c, "Identity", {v});
      } else if (p == Prim::reduce_sum) {
        auto* n = add(c, "ReduceSum", {v, ints(c, axes)}, {fresh("sum")});
        attr_i(n, "keepdims", 0);
        v = n->output(0);
      } else {
        const char* op = p == Prim::reduce_prod                            ? "ReduceProd"
                         : (p == Prim::reduce_max || p == Prim::reduce_or) ? "ReduceMax"
                                                                           : "ReduceMin";
        auto* n = add(c, op, {v}, {fresh("reduce")});
        attr_ints(n, "axes", axes);
        attr_i(n, "keepdims", 0);
        v = n->output(0);
      }
      if (logical) {
        auto* n = add(c, "Cast", {v}, {fresh("cast")});
        attr_i(n, "to", ::onnx::TensorProto::BOOL);
        v = n->output(0);
      }
      return {v};
    }
    case Prim::argmax:
    case Prim::argmin: {
      const auto& ap = std::get<nx::detail::ArgParams>(na.params);
      auto* n = add(c, p == Prim::argmax ? "ArgMax" : "ArgMin", {x(0)}, {fresh("arg")});
      attr_i(n, "axis", ap.axis);
      attr_i(n, "keepdims", 0);
      attr_i(n, "select_last_index", ap.tie_high ? 1 : 0);
      return {n->output(0)};
    }
    case Prim::dot_general: {
      const auto& dp = std::get<nx::detail::DotParams>(na.params);
      const TensorType& ta = c.ta(na.in[0]);
      const TensorType& tb = c.ta(na.in[1]);
      char next = 'a';
      std::string la(ta.shape.size(), ' '), lb(tb.shape.size(), ' '), lo;
      for (size_t i = 0; i < dp.batch_a.size(); ++i) {
        la[static_cast<size_t>(dp.batch_a[i])] = next;
        lb[static_cast<size_t>(dp.batch_b[i])] = next;
        lo += next++;
      }
      for (size_t i = 0; i < dp.contract_a.size(); ++i) {
        la[static_cast<size_t>(dp.contract_a[i])] = next;
        lb[static_cast<size_t>(dp.contract_b[i])] = next++;
      }
      for (char& ch : la)
        if (ch == ' ') lo += (ch = next++);
      for (char& ch : lb)
        if (ch == ' ') lo += (ch = next++);
      // Plain matrix products as MatMul (faster in most runtimes).
      if (dp.batch_a.empty() && ta.shape.size() == 2 && tb.shape.size() == 2 &&
          dp.contract_a == nx::Axes{1} && dp.contract_b == nx::Axes{0})
        return {op1(c, "MatMul", {x(0), x(1)})};
      auto* n = add(c, "Einsum", {x(0), x(1)}, {fresh("einsum")});
      attr_s(n, "equation", la + "," + lb + "->" + lo);
      return {n->output(0)};
    }
    case Prim::cumulative_sum: {
      const auto& sp = std::get<nx::detail::ScanParams>(na.params);
      auto* n = add(c, "CumSum", {x(0), int_scalar(sp.axis)}, {fresh("cumsum")});
      if (sp.reverse) attr_i(n, "reverse", 1);
      return {n->output(0)};
    }
    case Prim::sort: {
      const auto& sp = std::get<nx::detail::SortParams>(na.params);
      const TensorType& ia = c.ta(na.in[0]);
      const TensorType& ib = c.tb(na.in[0]);
      size_t ax = static_cast<size_t>(sp.axis);
      std::string vals = fresh("sorted"), idx = fresh("order");
      auto* n = add(c, "TopK", {x(0), ints(c, {ia.shape[ax]}, {ib.shape[ax]})}, {vals, idx});
      attr_i(n, "axis", sp.axis);
      attr_i(n, "largest", sp.descending ? 1 : 0);
      attr_i(n, "sorted", 1);
      return {vals, idx};
    }
    case Prim::cumulative_product:
    case Prim::cumulative_max:
    case Prim::cumulative_min:
      return emit_cumulative(c, na, nb);
    case Prim::conv_general:
    case Prim::window_sum:
    case Prim::window_product:
    case Prim::window_max:
    case Prim::window_min:
      return emit_window(c, na, nb);
    case Prim::dynamic_slice:
    case Prim::gather:
    case Prim::scatter_add:
    case Prim::scatter_put:
    case Prim::dynamic_update_slice:
      return emit_index(c, na, nb);
    default:
      break;
  }
  unsupported(p, "no exact ONNX (opset 17) equivalent");
}

}  // namespace axon::onnx::detail
