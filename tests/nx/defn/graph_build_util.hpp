// Helpers for tests that build graphs by hand and compare what graphs compute.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "nx/core/dispatch.hpp"
#include "nx/defn/graph.hpp"
#include "nx/defn/graph_rewrite.hpp"
#include "nx/defn/interpret.hpp"
#include "nx/nx.hpp"

namespace nx::testing {

/// Builds a graph node by node; every method returns the new value ids.
struct GraphMaker {
  detail::Graph g;

  int32_t param(const TensorType& t) {
    int32_t v = g.add_value(t);
    detail::Node n;
    n.kind = detail::NodeKind::Param;
    n.index = static_cast<int32_t>(g.inputs.size());
    n.out = {v};
    g.add_node(std::move(n));
    g.inputs.push_back(v);
    return v;
  }
  int32_t constant(const Tensor& t) {
    int32_t v = g.add_value(t.type());
    detail::Node n;
    n.kind = detail::NodeKind::Constant;
    n.constant = t;
    n.out = {v};
    g.add_node(std::move(n));
    return v;
  }
  std::vector<int32_t> prims(detail::Prim p, std::vector<int32_t> in,
                             const detail::Params& params = detail::NoParams{}) {
    std::vector<TensorType> in_types;
    for (int32_t v : in) in_types.push_back(g.type(v));
    detail::Node n;
    n.kind = detail::NodeKind::Prim;
    n.prim = p;
    n.params = params;
    n.in = std::move(in);
    for (const TensorType& t : detail::prim_output_types(p, in_types, params)) {
      n.out.push_back(g.add_value(t));
    }
    std::vector<int32_t> outs = n.out;
    g.add_node(std::move(n));
    return outs;
  }
  int32_t prim(detail::Prim p, std::vector<int32_t> in,
               const detail::Params& params = detail::NoParams{}) {
    return prims(p, std::move(in), params)[0];
  }
  /// A node of any kind with outputs of the given types (`n.in` and the rest filled by caller).
  std::vector<int32_t> node(detail::Node n, const std::vector<TensorType>& out_types) {
    n.out.clear();
    for (const TensorType& t : out_types) n.out.push_back(g.add_value(t));
    std::vector<int32_t> outs = n.out;
    g.add_node(std::move(n));
    return outs;
  }
  int32_t hook(int32_t x, const std::string& name, detail::HookFn fn) {
    detail::Node n;
    n.kind = detail::NodeKind::Hook;
    n.in = {x};
    n.name = name;
    n.hook = std::make_shared<const detail::HookFn>(std::move(fn));
    return node(std::move(n), {g.type(x)})[0];
  }
  void output(std::vector<int32_t> outs) { g.outputs = std::move(outs); }
};

inline TensorType f32t(Shape s) {
  return TensorType{std::move(s), DType::F32};
}

/// A tensor of the type with reproducible random values (integers in [-5, 5], floats normal).
inline Tensor random_tensor(const TensorType& t, uint32_t seed) {
  std::mt19937 rng(seed);
  int64_t n = num_elements(t.shape);
  if (t.dtype == DType::Pred) {
    std::vector<bool> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = rng() % 2 == 0;
    return from_vector(v, t.shape);
  }
  std::vector<double> v(static_cast<size_t>(n));
  std::normal_distribution<double> normal(0.0, 1.0);
  for (auto& x : v) x = is_float(t.dtype) ? normal(rng) : static_cast<double>(rng() % 11) - 5.0;
  return nx::as_type(from_vector(v, t.shape), t.dtype);
}

/// Random inputs for a graph.
inline std::vector<Tensor> random_inputs(const detail::Graph& g, uint32_t seed = 1) {
  std::vector<Tensor> in;
  for (int32_t v : g.inputs) in.push_back(random_tensor(g.type(v), seed++));
  return in;
}

/// Expects two tensors to hold the same values (NaN equal to NaN, -0 equal to +0).
inline void expect_same_tensor(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.type(), b.type()) << what;
  std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  for (size_t i = 0; i < va.size(); ++i) {
    if (std::isnan(va[i]) && std::isnan(vb[i])) continue;
    ASSERT_EQ(va[i], vb[i]) << what << ", element " << i;
  }
}

/// Expects two graphs to compute the same outputs on `inputs`.
inline void expect_same_results(const detail::Graph& a, const detail::Graph& b,
                                const std::vector<Tensor>& inputs) {
  std::vector<Tensor> ra = detail::interpret(a, inputs);
  std::vector<Tensor> rb = detail::interpret(b, inputs);
  ASSERT_EQ(ra.size(), rb.size());
  for (size_t i = 0; i < ra.size(); ++i)
    expect_same_tensor(ra[i], rb[i], "output " + std::to_string(i));
}

/// Counts nodes of a graph (not of subgraphs) that are primitive `p`.
inline int count_prim(const detail::Graph& g, detail::Prim p) {
  int c = 0;
  for (const auto& n : g.nodes) c += n.kind == detail::NodeKind::Prim && n.prim == p ? 1 : 0;
  return c;
}
/// A shared copy of a made graph (for subgraphs).
inline std::shared_ptr<const detail::Graph> shared(const GraphMaker& m) {
  return std::make_shared<const detail::Graph>(m.g);
}

/// A scalar constant of value `v` broadcast to type `t`.
inline int32_t splat(GraphMaker& m, double v, const TensorType& t) {
  int32_t c = m.constant(nx::scalar(v, t.dtype));
  return m.prim(detail::Prim::broadcast_in_dim, {c}, detail::BroadcastParams{t.shape, {}});
}

/// Runs `pass` on `g` and expects the result to verify and to compute what `g` computes.
inline void expect_pass_preserves(const detail::Graph& g,
                                  detail::Graph (*pass)(const detail::Graph&), uint32_t seed) {
  detail::verify(g);
  detail::Graph r = pass(g);
  detail::verify(r);
  expect_same_results(g, r, random_inputs(g, seed));
}

/// count_prim over `g` and all its subgraphs (fused programs included).
inline int count_prim_deep(const detail::Graph& g, detail::Prim p) {
  int c = count_prim(g, p);
  for (const auto& n : g.nodes) {
    for (const auto& sg : n.subgraphs) c += count_prim_deep(*sg, p);
  }
  return c;
}
/// Counts nodes of a kind.
inline int count_kind(const detail::Graph& g, detail::NodeKind k) {
  int c = 0;
  for (const auto& n : g.nodes) c += n.kind == k ? 1 : 0;
  return c;
}

}  // namespace nx::testing
