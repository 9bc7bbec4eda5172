// Mixed precision: policies, apply_policy's filters and graph rewriting, and the compiler's casts
// checked against the same casts done by hand with axon::fn (compiled the same way), for bf16
// and f16; parameters stored in the policy's dtype; integer inputs never cast; gradients and
// train-mode state keep their stored dtypes.
#include "axon/mixed_precision.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "axon/compiler.hpp"
#include "axon/fn/activations.hpp"
#include "axon/fn/conv.hpp"
#include "axon/fn/linear.hpp"
#include "axon/fn/reshaping.hpp"
#include "axon/layers/conv.hpp"
#include "axon/layers/linear.hpp"
#include "axon/layers/normalization.hpp"
#include "axon/layers/shape.hpp"
#include "nx/nx.hpp"

namespace {

namespace mp = axon::mixed_precision;
using nx::Tensor;
using nx::Tree;

void expect_close(const Tensor& a, const Tensor& b, double atol) {
  ASSERT_EQ(a.shape(), b.shape());
  ASSERT_EQ(a.dtype(), b.dtype());
  Tensor d = nx::abs(nx::as_type(a, nx::f32) - nx::as_type(b, nx::f32));
  EXPECT_LE(nx::reduce_max(d).item<float>(), atol);
}

Tensor leaf(const axon::ModelState& s, const std::string& layer, const std::string& name) {
  return s.data[layer][name].leaf();
}

// x {?, 6, 6, 2} -> conv 4 (3x3, relu) -> flatten -> dense 3.
axon::Model conv_net() {
  auto x = axon::input("x", {axon::kDynamic, 6, 6, 2});
  auto h = axon::conv(x, 4, {.kernel_size = {3}, .activation = "relu"});
  return axon::dense(axon::flatten(h), 3);
}

Tensor some_input() {
  return nx::random::normal(nx::random::key(3), {2, 6, 6, 2});
}

// conv_net computed with fn, casting as the policy says.
Tensor by_hand(const axon::ModelState& s, const Tensor& x, const mp::Policy& p) {
  auto in = [&](const Tensor& t) { return mp::cast(p, Tree(t), mp::CastTo::Compute).leaf(); };
  auto out = [&](const Tensor& t) { return mp::cast(p, Tree(t), mp::CastTo::Output).leaf(); };
  Tensor h =
      out(axon::fn::conv(in(x), in(leaf(s, "conv_0", "kernel")), in(leaf(s, "conv_0", "bias"))));
  h = out(axon::fn::relu(in(h)));
  h = out(axon::fn::flatten(in(h)));
  return out(
      axon::fn::dense(in(h), in(leaf(s, "dense_0", "kernel")), in(leaf(s, "dense_0", "bias"))));
}

TEST(MixedPrecision, CreatePolicyAndPrint) {
  mp::Policy p = mp::create_policy({.params = nx::f32, .compute = nx::bf16, .output = nx::f32});
  EXPECT_EQ(mp::to_string(p), "p=f32 c=bf16 o=f32");
  EXPECT_EQ(mp::to_string(mp::create_policy()), "p=none c=none o=none");
  try {
    mp::create_policy({.compute = nx::s32});
    FAIL() << "expected nx::Error";
  } catch (const nx::Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("axon::mixed_precision::create_policy"), std::string::npos) << m;
    EXPECT_NE(m.find("s32"), std::string::npos) << m;
  }
  // cast never touches integer leaves.
  Tree t{{"w", nx::ones({2}, nx::f32)}, {"ids", nx::ones({2}, nx::s64)}};
  Tree c = mp::cast(p, t, mp::CastTo::Compute);
  EXPECT_EQ(c["w"].leaf().dtype(), nx::bf16);
  EXPECT_EQ(c["ids"].leaf().dtype(), nx::s64);
  EXPECT_EQ(mp::cast(mp::create_policy(), t, mp::CastTo::Params)["w"].leaf().dtype(), nx::f32);
}

class ComputeDtype : public ::testing::TestWithParam<nx::DType> {};

TEST_P(ComputeDtype, ConvDenseModelEqualsHandCasts) {
  const nx::DType half = GetParam();
  mp::Policy p = mp::create_policy({.compute = half, .output = nx::f32});
  axon::Model model = mp::apply_policy(conv_net(), p);
  auto [init_fn, predict_fn] = axon::build(model);
  axon::ModelState s = init_fn(nx::make_template({1, 6, 6, 2}, nx::f32));
  // params unset: parameters stay f32.
  EXPECT_EQ(leaf(s, "conv_0", "kernel").dtype(), nx::f32);
  EXPECT_EQ(leaf(s, "dense_0", "kernel").dtype(), nx::f32);
  Tensor x = some_input();
  Tensor y = predict_fn(s, x).leaf();
  EXPECT_EQ(y.dtype(), nx::f32);
  Tensor want = nx::jit([&](const Tensor& v) { return by_hand(s, v, p); })(x);
  expect_close(y, want, 1e-6);
  // Eagerly too (the hand computation op by op), to the half type's rounding.
  expect_close(y, by_hand(s, x, p), half == nx::bf16 ? 0.1 : 0.01);
  // The computation really was in the half type: the f32 model differs.
  auto [i32, p32] = axon::build(conv_net());
  Tensor full = p32(s, x).leaf();
  EXPECT_GT(nx::reduce_max(nx::abs(full - y)).item<float>(), 0.0f);
  expect_close(full, y, half == nx::bf16 ? 0.1 : 0.01);
}

TEST_P(ComputeDtype, ParamsStoredInThePolicyDtype) {
  const nx::DType half = GetParam();
  mp::Policy p = mp::create_policy({.params = half, .compute = half});
  axon::Model model = mp::apply_policy(conv_net(), p);
  auto [init_fn, predict_fn] = axon::build(model);
  axon::ModelState s = init_fn(nx::make_template({1, 6, 6, 2}, nx::f32));
  for (const auto& path : s.paths()) {
    EXPECT_EQ(s.data[path[0]][path[1]].leaf().dtype(), half) << path[0] << "." << path[1];
  }
  EXPECT_EQ(s.num_bytes(), s.num_parameters() * 2);
  // The initial values are the f32 initializer's, rounded.
  auto [i32, p32] = axon::build(conv_net());
  axon::ModelState s32 = i32(nx::make_template({1, 6, 6, 2}, nx::f32));
  expect_close(leaf(s, "conv_0", "kernel"), nx::as_type(leaf(s32, "conv_0", "kernel"), half), 0);
  // Output not cast: the half type.
  Tensor x = some_input();
  Tensor y = predict_fn(s, x).leaf();
  EXPECT_EQ(y.dtype(), half);
  expect_close(y, nx::jit([&](const Tensor& v) { return by_hand(s, v, p); })(x), 1e-6);
  // Given f32 parameters are converted to the policy's dtype.
  axon::ModelState given = init_fn(nx::make_template({1, 6, 6, 2}, nx::f32), s32);
  EXPECT_EQ(leaf(given, "dense_0", "kernel").dtype(), half);
  expect_close(leaf(given, "dense_0", "kernel"), nx::as_type(leaf(s32, "dense_0", "kernel"), half),
               0);
}

INSTANTIATE_TEST_SUITE_P(HalfTypes, ComputeDtype, ::testing::Values(nx::bf16, nx::f16),
                         [](const auto& info) { return std::string(nx::dtype_name(info.param)); });

// Records the dtype of each layer's (first) input as the layer sees it.
axon::Model recording(const axon::Model& m, std::map<std::string, nx::DType>& seen,
                      const std::string& key) {
  return axon::attach_hook(m, {.fn = [&seen, key](const Tree& t) { seen[key] = t.leaf().dtype(); },
                               .on = axon::HookEvent::PreForward});
}

TEST(MixedPrecision, IntegerInputsAreNotCast) {
  std::map<std::string, nx::DType> seen;
  auto ids = axon::input("ids", {axon::kDynamic, 5}, {.dtype = nx::s64});
  auto e = recording(axon::embedding(ids, 10, 4), seen, "embedding");
  auto y = recording(axon::dense(e, 2), seen, "dense");
  mp::Policy p = mp::create_policy({.compute = nx::bf16, .output = nx::f32});
  auto [init_fn, predict_fn] = axon::build(mp::apply_policy(y, p));
  axon::ModelState s = init_fn(nx::make_template({1, 5}, nx::s64));
  Tensor v =
      nx::reshape(nx::remainder(nx::arange(0, 15, 1, nx::s64), nx::full({}, 10, nx::s64)), {3, 5});
  Tensor out = predict_fn(s, v).leaf();
  EXPECT_EQ(seen.at("embedding"), nx::s64);
  EXPECT_EQ(seen.at("dense"), nx::bf16);
  Tensor want = nx::jit([&](const Tensor& ids_v) {
    auto bf = [](const Tensor& t) { return nx::as_type(t, nx::bf16); };
    Tensor h =
        nx::as_type(axon::fn::embedding(ids_v, bf(leaf(s, "embedding_0", "kernel"))), nx::f32);
    return nx::as_type(
        axon::fn::dense(bf(h), bf(leaf(s, "dense_0", "kernel")), bf(leaf(s, "dense_0", "bias"))),
        nx::f32);
  })(v);
  expect_close(out, want, 1e-6);
}

TEST(MixedPrecision, FiltersChooseLayersAndTheOriginalIsUnchanged) {
  mp::Policy p = mp::create_policy({.compute = nx::bf16});
  auto run = [&](const auto& filter) {
    std::map<std::string, nx::DType> seen;
    auto x = axon::input("x", {axon::kDynamic, 6, 6, 2});
    auto h = recording(axon::conv(x, 4, {.kernel_size = {3}}), seen, "conv");
    h = recording(axon::flatten(h), seen, "flatten");
    auto y = recording(axon::dense(h, 3), seen, "dense");
    axon::Model m = mp::apply_policy(y, p, filter);
    EXPECT_FALSE(y.node().policy.has_value());
    auto [init_fn, predict_fn] = axon::build(m);
    axon::ModelState s = init_fn(nx::make_template({1, 6, 6, 2}, nx::f32));
    predict_fn(s, some_input());
    return seen;
  };
  auto only = run(mp::PolicyFilter{.only = {"dense"}});
  EXPECT_EQ(only.at("conv"), nx::f32);
  EXPECT_EQ(only.at("dense"), nx::bf16);
  auto except = run(mp::PolicyFilter{.except = {"dense"}});
  EXPECT_EQ(except.at("conv"), nx::bf16);  // the model's input, cast
  EXPECT_EQ(except.at("flatten"), nx::bf16);
  EXPECT_EQ(except.at("dense"), nx::bf16);  // the flatten's output, not cast back
  auto pred = run(std::function<bool(const axon::Node&)>(
      [](const axon::Node& n) { return n.op_name == "conv"; }));
  EXPECT_EQ(pred.at("conv"), nx::bf16);
  EXPECT_EQ(pred.at("flatten"), nx::bf16);
  EXPECT_THROW(mp::apply_policy(conv_net(), p, mp::PolicyFilter{.only = {"a"}, .except = {"b"}}),
               nx::Error);
}

TEST(MixedPrecision, NamespacesAndBlocksAreRewritten) {
  auto shared =
      axon::block([](const std::vector<axon::Model>& in) { return axon::dense(in[0], 3); }, 1);
  auto x = axon::input("x", {axon::kDynamic, 3});
  auto body = axon::namespace_(axon::dense(x, 3), "body");
  auto y = shared({body});
  mp::Policy p = mp::create_policy({.params = nx::bf16});
  auto [init_fn, predict_fn] = axon::build(mp::apply_policy(y, p));
  axon::ModelState s = init_fn(nx::make_template({1, 3}, nx::f32));
  EXPECT_EQ(s.data["body"]["dense_0"]["kernel"].leaf().dtype(), nx::bf16);
  EXPECT_EQ(s.data["block_0"]["dense_0"]["kernel"].leaf().dtype(), nx::bf16);
  // The original model still creates f32 parameters.
  axon::ModelState s32 = axon::init(y, nx::make_template({1, 3}, nx::f32));
  EXPECT_EQ(s32.data["block_0"]["dense_0"]["kernel"].leaf().dtype(), nx::f32);
}

TEST(MixedPrecision, GradientsAndTrainStateKeepStoredDtypes) {
  auto x = axon::input("x", {axon::kDynamic, 4});
  auto h = axon::batch_norm(axon::dense(x, 6));
  auto y = axon::dense(h, 1);
  mp::Policy p = mp::create_policy({.compute = nx::bf16, .output = nx::f32});
  auto built_predict_fn = axon::build(mp::apply_policy(y, p), {.mode = axon::Mode::Train});
  auto& init_fn = built_predict_fn.first;
  auto& predict_fn = built_predict_fn.second;
  axon::ModelState s = init_fn(nx::make_template({1, 4}, nx::f32));
  Tensor xv = nx::random::normal(nx::random::key(1), {8, 4});
  Tree r = predict_fn(s, xv);
  EXPECT_EQ(r["prediction"].leaf().dtype(), nx::f32);
  EXPECT_EQ(r["state"]["batch_norm_0"]["mean"].leaf().dtype(), nx::f32);
  EXPECT_EQ(r["state"]["batch_norm_0"]["var"].leaf().dtype(), nx::f32);
  auto [value, grads, aux] = nx::value_and_grad(s.trainable_parameters(), [&](const Tree& t) {
    return nx::sum(predict_fn(s.update(t), xv)["prediction"].leaf());
  });
  EXPECT_EQ(grads["dense_0"]["kernel"].leaf().dtype(), nx::f32);
  EXPECT_GT(nx::sum(nx::abs(grads["dense_0"]["kernel"].leaf())).item<float>(), 0.0f);
}

}  // namespace
