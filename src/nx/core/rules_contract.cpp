// Shape rules of the contractions, dot_general and conv_general.
//
// dot_general(a, b): one numeric dtype for both operands; contracting axes pair up (a's i-th
// with b's i-th) and must have equal sizes, as must batch axes; every axis lies in [0, rank) and
// appears at most once per operand. The result is [batch dims (in batch_a order), free dims of
// a, free dims of b] in the input dtype.
//
// conv_general(input, kernel), as XLA's ConvGeneralDilated with fixed layouts: input
// [N, C, spatial...], kernel [O, I, spatial...], output [N / batch_groups, O, spatial...], at
// least one spatial axis. Per spatial axis: strides and both dilations >= 1; the dilated input
// ((size-1)*lhs_dilation+1, or 0 for size 0) plus pad_lo and pad_hi (either may be negative) must
// not be negative; the output size is floor((padded - dilated kernel) / stride) + 1, or 0 when
// the dilated kernel is larger than the padded input (as XLA and JAX do). Groups: both counts
// >= 1 and at most one > 1; C == I * feature_groups; O divisible by both counts; N divisible by
// batch_groups.
#include <algorithm>
#include <string>

#include "rules_common.hpp"

namespace nx::detail {

namespace {

std::string ints(const std::vector<int64_t>& v) {
  return shape_repr(v);
}
std::string str(int64_t v) {
  return std::to_string(v);
}

// Checks one operand's contracting and batch axes: in range and not repeated.
void check_dot_axes(int prim, const Tensor& t, const char* name, const Axes& contract,
                    const Axes& batch) {
  std::vector<bool> seen(static_cast<size_t>(t.rank()), false);
  auto check = [&](const Axes& axes, const char* kind) {
    for (int64_t ax : axes) {
      if (ax < 0 || ax >= t.rank()) {
        rule_error(prim, std::string(kind) + " axis " + str(ax) + " of " + name +
                             " is out of range for " + name + " " + describe(t));
      }
      if (seen[static_cast<size_t>(ax)]) {
        rule_error(prim, "axis " + str(ax) + " of " + name + " " + describe(t) +
                             " is used more than once in contracting axes " + ints(contract) +
                             " and batch axes " + ints(batch));
      }
      seen[static_cast<size_t>(ax)] = true;
    }
  };
  check(contract, "contracting");
  check(batch, "batch");
}

void check_pairs(int prim, const Tensor& a, const Tensor& b, const Axes& axes_a, const Axes& axes_b,
                 const char* kind) {
  if (axes_a.size() != axes_b.size()) {
    rule_error(prim, std::string(kind) + " axes of a " + ints(axes_a) + " and of b " +
                         ints(axes_b) + " differ in number");
  }
  for (size_t i = 0; i < axes_a.size(); ++i) {
    int64_t da = a.shape()[static_cast<size_t>(axes_a[i])];
    int64_t db = b.shape()[static_cast<size_t>(axes_b[i])];
    if (da != db) {
      rule_error(prim, std::string(kind) + " axis " + str(axes_a[i]) + " of a (size " + str(da) +
                           ") and axis " + str(axes_b[i]) + " of b (size " + str(db) +
                           ") differ: a " + describe(a) + ", b " + describe(b));
    }
  }
}

bool contains(const Axes& axes, int64_t ax) {
  return std::find(axes.begin(), axes.end(), ax) != axes.end();
}

}  // namespace

std::vector<TensorType> rule_dot_general(int prim, std::span<const Tensor> in,
                                         const Params& params) {
  const auto& p = std::get<DotParams>(params);
  const Tensor& a = in[0];
  const Tensor& b = in[1];
  check_same_dtype(prim, in);
  check_dtype_class(prim, a, DTypeClass::Numeric, "the operands");
  check_dot_axes(prim, a, "a", p.contract_a, p.batch_a);
  check_dot_axes(prim, b, "b", p.contract_b, p.batch_b);
  check_pairs(prim, a, b, p.contract_a, p.contract_b, "contracting");
  check_pairs(prim, a, b, p.batch_a, p.batch_b, "batch");
  Shape out;
  for (int64_t ax : p.batch_a) out.push_back(a.shape()[static_cast<size_t>(ax)]);
  for (int64_t i = 0; i < a.rank(); ++i) {
    if (!contains(p.contract_a, i) && !contains(p.batch_a, i)) out.push_back(a.shape()[i]);
  }
  for (int64_t i = 0; i < b.rank(); ++i) {
    if (!contains(p.contract_b, i) && !contains(p.batch_b, i)) out.push_back(b.shape()[i]);
  }
  return {TensorType{out, a.dtype()}};
}

std::vector<TensorType> rule_conv_general(int prim, std::span<const Tensor> in,
                                          const Params& params) {
  const auto& p = std::get<ConvParams>(params);
  const Tensor& x = in[0];
  const Tensor& w = in[1];
  check_same_dtype(prim, in);
  check_dtype_class(prim, x, DTypeClass::Float, "the operands");
  if (x.rank() < 3) {
    rule_error(prim, "input must be [N, C, spatial...] with at least one spatial axis, got " +
                         describe(x));
  }
  if (w.rank() != x.rank()) {
    rule_error(prim, "kernel " + describe(w) + " must be [O, I, spatial...] of the input's rank " +
                         str(x.rank()) + " (input " + describe(x) + ")");
  }
  int64_t spatial = x.rank() - 2;
  check_per_axis(prim, p.strides, spatial, "strides");
  check_per_axis(prim, p.pad_lo, spatial, "pad_lo");
  check_per_axis(prim, p.pad_hi, spatial, "pad_hi");
  check_per_axis(prim, p.lhs_dilation, spatial, "lhs_dilation");
  check_per_axis(prim, p.rhs_dilation, spatial, "rhs_dilation");
  int64_t fg = p.feature_groups, bg = p.batch_groups;
  if (fg < 1 || bg < 1) {
    rule_error(prim,
               "feature_groups and batch_groups must be >= 1, got " + str(fg) + " and " + str(bg));
  }
  if (fg > 1 && bg > 1) {
    rule_error(prim, "at most one of feature_groups (" + str(fg) + ") and batch_groups (" +
                         str(bg) + ") may be greater than 1");
  }
  const Shape& xs = x.shape();
  const Shape& ws = w.shape();
  int64_t n = xs[0], c = xs[1], o = ws[0], i = ws[1];
  if (c % fg != 0 || c / fg != i) {
    rule_error(prim, "input channels (" + str(c) + ") must equal kernel input channels (" + str(i) +
                         ") times feature_groups (" + str(fg) + "): input " + describe(x) +
                         ", kernel " + describe(w));
  }
  if (o % fg != 0) {
    rule_error(prim, "kernel output channels (" + str(o) +
                         ") must be divisible by feature_groups (" + str(fg) + ")");
  }
  if (o % bg != 0) {
    rule_error(prim, "kernel output channels (" + str(o) + ") must be divisible by batch_groups (" +
                         str(bg) + ")");
  }
  if (n % bg != 0) {
    rule_error(prim,
               "input batch (" + str(n) + ") must be divisible by batch_groups (" + str(bg) + ")");
  }
  Shape out{n / bg, o};
  for (int64_t d = 0; d < spatial; ++d) {
    int64_t s = p.strides[d], ld = p.lhs_dilation[d], rd = p.rhs_dilation[d];
    if (s < 1 || ld < 1 || rd < 1) {
      rule_error(prim, "spatial axis " + str(d) + ": stride (" + str(s) + "), lhs_dilation (" +
                           str(ld) + ") and rhs_dilation (" + str(rd) + ") must be >= 1");
    }
    int64_t in_size = xs[static_cast<size_t>(d + 2)], k_size = ws[static_cast<size_t>(d + 2)];
    int64_t dilated_in = in_size == 0 ? 0 : (in_size - 1) * ld + 1;
    int64_t dilated_k = k_size == 0 ? 0 : (k_size - 1) * rd + 1;
    int64_t padded = p.pad_lo[d] + dilated_in + p.pad_hi[d];
    if (padded < 0) {
      rule_error(prim, "spatial axis " + str(d) + ": padding (" + str(p.pad_lo[d]) + ", " +
                           str(p.pad_hi[d]) + ") crops more than the dilated input size " +
                           str(dilated_in) + " (input " + describe(x) + ")");
    }
    out.push_back(padded < dilated_k ? 0 : (padded - dilated_k) / s + 1);
  }
  return {TensorType{out, x.dtype()}};
}

}  // namespace nx::detail
