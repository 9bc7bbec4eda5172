// ONNX tensor family: indexing (Gather, GatherElements, GatherND, ScatterElements, ScatterND,
// Scatter, OneHot, TopK, Compress, NonZero).
#include <algorithm>
#include <map>
#include <numeric>

#include "axon/onnx/ops_tensor_internal.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/indexing.hpp"
#include "nx/ops/shape.hpp"
#include "nx/ops/sort.hpp"

namespace axon::onnx_import::tensor_ops {
namespace {

using nx::Tensor;
using Outs = std::vector<Tensor>;

void check_int_indices(const OpCall& call, const Tensor& idx) {
  if (!nx::is_integer(idx.dtype()))
    call.fail("indices must be integers, got " + std::string(nx::dtype_name(idx.dtype())));
}

// Index tuples idx[..., k] (last axis addresses axes 0..k-1 of a tensor of shape `dims`),
// negative entries counted from the end, as s64.
Tensor wrap_tuples(const Tensor& idx, const nx::Shape& dims) {
  Tensor i = nx::as_type(idx, nx::s64);
  int64_t k = idx.shape().back();
  std::vector<int64_t> d(dims.begin(), dims.begin() + k);
  Tensor dt = nx::from_vector(d);
  return nx::select(nx::less(i, nx::scalar_int(0, nx::s64)), nx::add(i, dt), i);
}

nx::Axes leading_axes(int64_t k) {
  nx::Axes a(static_cast<size_t>(k));
  std::iota(a.begin(), a.end(), 0);
  return a;
}

Outs gather(const OpCall& call) {
  const Tensor& x = call.input(0);
  const Tensor& idx = call.input(1);
  check_int_indices(call, idx);
  int64_t axis = norm_axis(call, call.attr_int("axis", 0), x.rank());
  return {nx::take(x, idx, axis)};
}

Outs gather_elements(const OpCall& call) {
  const Tensor& x = call.input(0);
  const Tensor& idx = call.input(1);
  check_int_indices(call, idx);
  if (idx.rank() != x.rank())
    call.fail("indices " + dims_str(idx.shape()) + " must have the rank of data " +
              dims_str(x.shape()));
  int64_t axis = norm_axis(call, call.attr_int("axis", 0), x.rank());
  return {nx::take_along_axis(x, idx, axis)};
}

Outs gather_nd(const OpCall& call) {
  const Tensor& x = call.input(0);
  const Tensor& idx = call.input(1);
  check_int_indices(call, idx);
  int64_t b = call.attr_int("batch_dims", 0);
  const nx::Shape &ds = x.shape(), &is = idx.shape();
  if (is.empty()) call.fail("indices must have rank >= 1");
  int64_t k = is.back();
  if (b < 0 || b >= static_cast<int64_t>(is.size()) || b + k > x.rank())
    call.fail("indices " + dims_str(is) + " with batch_dims " + std::to_string(b) +
              " do not fit data " + dims_str(ds));
  for (size_t i = 0; i < static_cast<size_t>(b); ++i)
    if (ds[i] != is[i]) call.fail("batch dimensions of data and indices differ");
  auto bb = static_cast<size_t>(b);
  int64_t bp = prod(ds, 0, bb), mp = prod(is, bb, is.size() - 1);
  nx::Shape d2{bp};
  d2.insert(d2.end(), ds.begin() + b, ds.end());
  Tensor data = nx::reshape(x, d2);
  nx::Shape inner(ds.begin() + b, ds.end());
  Tensor i2 = wrap_tuples(nx::reshape(idx, {bp, mp, k}), inner);
  Tensor batch = nx::iota({bp, mp, 1}, 0, nx::s64);
  Tensor full = nx::concatenate({batch, i2}, 2);
  Tensor g = nx::gather(data, full, leading_axes(k + 1));
  nx::Shape out(ds.begin(), ds.begin() + b);
  out.insert(out.end(), is.begin() + b, is.end() - 1);
  out.insert(out.end(), ds.begin() + b + k, ds.end());
  return {nx::reshape(g, out)};
}

// Scatter with a reduction that nx has no primitive for (mul, max, min): positions that
// repeat are updated one occurrence at a time (grouped by occurrence when the indices are
// concrete, one row at a time when they are traced).
Tensor scatter_reduce(const OpCall& call, const Tensor& x, const Tensor& idx, const Tensor& upd,
                      const std::string& reduction) {
  int64_t k = idx.shape().back();
  int64_t n = idx.size() / std::max<int64_t>(k, 1);
  nx::Shape slice(x.shape().begin() + k, x.shape().end());
  nx::Shape us{n};
  us.insert(us.end(), slice.begin(), slice.end());
  Tensor i2 = nx::reshape(idx, {n, k}), u2 = nx::reshape(upd, us);
  nx::Axes axes = leading_axes(k);
  auto combine = [&](const Tensor& old, const Tensor& u) {
    if (reduction == "mul") return nx::multiply(old, u);
    if (reduction == "max") return nx::max(old, u);
    if (reduction == "min") return nx::min(old, u);
    call.fail("unknown reduction '" + reduction + "'");
  };
  std::vector<std::vector<int64_t>> groups;
  if (is_concrete(i2)) {
    std::vector<int64_t> v = i2.to_vector<int64_t>();
    std::map<std::vector<int64_t>, size_t> count;
    for (int64_t r = 0; r < n; ++r) {
      std::vector<int64_t> key(v.begin() + r * k, v.begin() + (r + 1) * k);
      size_t g = count[key]++;
      if (groups.size() <= g) groups.emplace_back();
      groups[g].push_back(r);
    }
  } else {
    for (int64_t r = 0; r < n; ++r) groups.push_back({r});
  }
  Tensor y = x;
  for (const auto& rows : groups) {
    Tensor sel = nx::from_vector(rows);
    Tensor gi = nx::take(i2, sel, 0), gu = nx::as_type(nx::take(u2, sel, 0), x.dtype());
    y = nx::indexed_put(y, gi, combine(nx::gather(y, gi, axes), gu), axes);
  }
  return y;
}

Tensor scatter_nd_core(const OpCall& call, const Tensor& x, const Tensor& idx, const Tensor& upd,
                       const std::string& reduction) {
  check_int_indices(call, idx);
  if (idx.rank() < 1) call.fail("indices must have rank >= 1");
  int64_t k = idx.shape().back();
  if (k > x.rank())
    call.fail("index tuples of length " + std::to_string(k) + " for rank " +
              std::to_string(x.rank()));
  nx::Shape want(idx.shape().begin(), idx.shape().end() - 1);
  want.insert(want.end(), x.shape().begin() + k, x.shape().end());
  if (upd.shape() != want)
    call.fail("updates " + dims_str(upd.shape()) + " must have shape " + dims_str(want));
  Tensor i = wrap_tuples(idx, x.shape());
  if (reduction == "none") return nx::indexed_put(x, i, upd, leading_axes(k));
  if (reduction == "add") return nx::indexed_add(x, i, upd, leading_axes(k));
  return scatter_reduce(call, x, i, upd, reduction);
}

Outs scatter_nd(const OpCall& call) {
  return {scatter_nd_core(call, call.input(0), call.input(1), call.input(2),
                          call.attr_string("reduction", "none"))};
}

Outs scatter_elements(const OpCall& call) {
  const Tensor& x = call.input(0);
  const Tensor& idx = call.input(1);
  const Tensor& upd = call.input(2);
  check_int_indices(call, idx);
  if (idx.rank() != x.rank() || upd.shape() != idx.shape())
    call.fail("indices " + dims_str(idx.shape()) + " and updates " + dims_str(upd.shape()) +
              " must have one shape and the rank of data " + dims_str(x.shape()));
  int64_t axis = norm_axis(call, call.attr_int("axis", 0), x.rank());
  std::vector<Tensor> parts;
  for (int64_t a = 0; a < x.rank(); ++a) {
    Tensor p = a == axis
                   ? wrap_indices(nx::as_type(idx, nx::s64), x.shape()[static_cast<size_t>(a)])
                   : nx::iota(idx.shape(), a, nx::s64);
    parts.push_back(nx::new_axis(p, -1));
  }
  Tensor full = nx::concatenate(parts, -1);
  return {scatter_nd_core(call, x, full, upd, call.attr_string("reduction", "none"))};
}

Outs one_hot(const OpCall& call) {
  Tensor idx = call.input(0);
  // depth may be of any numeric type (float depths are truncated, as the reference does).
  double depth_d = one_value(call, 1, "depth");
  if (!(depth_d >= 1)) call.fail("depth must be positive, got " + std::to_string(depth_d));
  if (depth_d > 1e12) call.fail("depth " + std::to_string(depth_d) + " is too large");
  auto depth = static_cast<int64_t>(depth_d);
  if (depth <= 0) call.fail("depth must be positive, got " + std::to_string(depth));
  const Tensor& values = call.input(2);
  if (values.size() != 2) call.fail("values must hold [off_value, on_value]");
  std::vector<int64_t> out_shape = idx.shape();
  out_shape.push_back(depth);
  check_result_size(call, out_shape);
  idx = nx::as_type(idx, nx::s64);
  idx = wrap_indices(idx, depth);
  int64_t axis = norm_axis(call, call.attr_int("axis", -1), idx.rank() + 1);
  Tensor hot = nx::one_hot(idx, depth, nx::pred, axis);
  Tensor v = nx::reshape(values, {2});
  Tensor off = nx::reshape(nx::slice(v, {0}, {1}), {}),
         on = nx::reshape(nx::slice(v, {1}, {1}), {});
  return {nx::select(hot, on, off)};
}

Outs top_k(const OpCall& call) {
  const Tensor& x = call.input(0);
  int64_t k =
      call.opset() >= 10 ? static_cast<int64_t>(one_value(call, 1, "K")) : call.attr_int("k", 0);
  int64_t axis = norm_axis(call, call.attr_int("axis", -1), x.rank());
  int64_t dim = x.shape()[static_cast<size_t>(axis)];
  if (k < 0 || k > dim)
    call.fail("k = " + std::to_string(k) + " is out of range for an axis of size " +
              std::to_string(dim));
  bool largest = call.attr_int("largest", 1) != 0;
  int64_t last = x.rank() - 1;
  nx::Axes perm(static_cast<size_t>(x.rank()));
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[static_cast<size_t>(axis)], perm[static_cast<size_t>(last)]);
  Tensor xt = nx::transpose(x, perm);
  Tensor key = xt;
  if (!largest) {
    // An order-reversing map that keeps ties in index order.
    key = nx::is_float(x.dtype()) ? nx::negate(xt) : nx::bitwise_not(xt);
  }
  if (x.dtype() == nx::pred) key = nx::as_type(largest ? xt : nx::logical_not(xt), nx::u8);
  Tensor idx = nx::top_k(key, k).second;
  Tensor vals = nx::take_along_axis(xt, idx, last);
  return {nx::transpose(vals, perm), nx::transpose(idx, perm)};
}

Outs compress(const OpCall& call) {
  const Tensor& x = call.input(0);
  if (!is_concrete(call.input(1)))
    call.fail("the condition must be a constant (the output size depends on it)");
  std::vector<bool> cond = call.concrete(1).to_vector<bool>();
  Tensor src = x;
  int64_t axis = 0;
  if (call.has_attr("axis")) {
    axis = norm_axis(call, call.attr_int("axis", 0), x.rank());
  } else {
    src = nx::reshape(x, {x.size()});
  }
  int64_t dim = src.shape()[static_cast<size_t>(axis)];
  if (static_cast<int64_t>(cond.size()) > dim)
    call.fail("condition has " + std::to_string(cond.size()) + " entries for an axis of size " +
              std::to_string(dim));
  std::vector<int64_t> keep;
  for (size_t i = 0; i < cond.size(); ++i)
    if (cond[i]) keep.push_back(static_cast<int64_t>(i));
  return {nx::take(src, nx::from_vector(keep), axis)};
}

Outs non_zero(const OpCall& call) {
  const Tensor& x = call.input(0);
  if (!is_concrete(x))
    call.fail(
        "the input must be a constant: the output size depends on the data, which a "
        "traced graph cannot express");
  std::vector<bool> nz = nx::not_equal(x, nx::scalar(0.0, x.dtype())).to_vector<bool>();
  nx::Shape s = x.rank() == 0 ? nx::Shape{1} : x.shape();
  auto r = static_cast<int64_t>(s.size());
  std::vector<std::vector<int64_t>> coords(static_cast<size_t>(r));
  for (int64_t i = 0; i < static_cast<int64_t>(nz.size()); ++i) {
    if (!nz[static_cast<size_t>(i)]) continue;
    int64_t rem = i;
    for (int64_t a = r - 1; a >= 0; --a) {
      coords[static_cast<size_t>(a)].push_back(rem % s[static_cast<size_t>(a)]);
      rem /= s[static_cast<size_t>(a)];
    }
  }
  auto count = static_cast<int64_t>(coords.empty() ? 0 : coords[0].size());
  std::vector<int64_t> flat;
  for (auto& c : coords) flat.insert(flat.end(), c.begin(), c.end());
  return {nx::from_vector(flat, nx::Shape{r, count})};
}

// Unique over rows of keys (one row per element, or per slice along the axis).
template <class K>
Outs unique_rows(const OpCall& call, const Tensor& src, int64_t axis, bool sorted) {
  int64_t n = src.shape()[static_cast<size_t>(axis)];
  Tensor moved = nx::transpose(src, [&] {
    nx::Axes p{axis};
    for (int64_t i = 0; i < src.rank(); ++i)
      if (i != axis) p.push_back(i);
    return p;
  }());
  std::vector<K> v = moved.to_vector<K>();
  int64_t m = n == 0 ? 0 : static_cast<int64_t>(v.size()) / n;
  std::vector<std::vector<K>> rows(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    rows[static_cast<size_t>(i)].assign(v.begin() + i * m, v.begin() + (i + 1) * m);
  std::map<std::vector<K>, int64_t> first;  // row -> first index
  std::vector<int64_t> order;               // first indices in order of appearance
  for (int64_t i = 0; i < n; ++i)
    if (first.emplace(rows[static_cast<size_t>(i)], i).second) order.push_back(i);
  if (sorted) {
    order.clear();
    for (const auto& [row, i] : first) order.push_back(i);
  }
  std::map<std::vector<K>, int64_t> pos;
  for (size_t j = 0; j < order.size(); ++j)
    pos[rows[static_cast<size_t>(order[j])]] = static_cast<int64_t>(j);
  std::vector<int64_t> inverse(static_cast<size_t>(n)), counts(order.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t j = pos[rows[static_cast<size_t>(i)]];
    inverse[static_cast<size_t>(i)] = j;
    ++counts[static_cast<size_t>(j)];
  }
  (void)call;
  return {nx::take(src, nx::from_vector(order), axis), nx::from_vector(order),
          nx::from_vector(inverse), nx::from_vector(counts)};
}

Outs unique(const OpCall& call) {
  const Tensor& x = call.input(0);
  if (!is_concrete(x))
    call.fail(
        "the input must be a constant: the output size depends on the data, which a "
        "traced graph cannot express");
  bool sorted = call.attr_int("sorted", 1) != 0;
  Tensor src = x;
  int64_t axis = 0;
  if (call.has_attr("axis"))
    axis = norm_axis(call, call.attr_int("axis", 0), x.rank());
  else
    src = nx::reshape(x, {x.size()});
  if (nx::is_float(x.dtype())) return unique_rows<double>(call, src, axis, sorted);
  if (nx::is_unsigned_int(x.dtype())) return unique_rows<uint64_t>(call, src, axis, sorted);
  return unique_rows<int64_t>(call, src, axis, sorted);
}

}  // namespace

void register_index_ops() {
  register_op({"Unique", unique, 11});
  register_op({"Gather", gather, 1});
  register_op({"GatherElements", gather_elements, 11});
  register_op({"GatherND", gather_nd, 11});
  register_op({"ScatterElements", scatter_elements, 11});
  register_op({"ScatterND", scatter_nd, 11});
  register_op({"Scatter", scatter_elements, 9});
  register_op({"OneHot", one_hot, 9});
  register_op({"TopK", top_k, 1});
  register_op({"Compress", compress, 9});
  register_op({"NonZero", non_zero, 9});
}

}  // namespace axon::onnx_import::tensor_ops
