// End-to-end models (issue 5): a VGG-style CNN, a ResNet basic block, a multi-input
// multi-output model, fine-tuning a namespaced pre-trained part in which only the new head
// changes, layers frozen by depth that receive no update, and a model computing in bf16. Every
// model is built from axon's layer builders, checked against the same computation written with
// axon::fn, and trained a few steps with a compiled step (nx::jit of value_and_grad over
// ModelState::trainable_parameters() and optim::adam): the loss goes down, frozen parameters are
// bit-identical afterwards and the trained ones changed. (Safetensors interchange with Python is
// in model_state_test.cpp.)
#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "axon/compiler.hpp"
#include "axon/fn/activations.hpp"
#include "axon/fn/conv.hpp"
#include "axon/fn/linear.hpp"
#include "axon/fn/losses.hpp"
#include "axon/fn/normalization.hpp"
#include "axon/fn/pooling.hpp"
#include "axon/fn/reshaping.hpp"
#include "axon/layers/activation.hpp"
#include "axon/layers/combinators.hpp"
#include "axon/layers/conv.hpp"
#include "axon/layers/dropout.hpp"
#include "axon/layers/linear.hpp"
#include "axon/layers/normalization.hpp"
#include "axon/layers/pooling.hpp"
#include "axon/layers/shape.hpp"
#include "axon/mixed_precision.hpp"
#include "axon/optim.hpp"
#include "nx/nx.hpp"

namespace {

namespace optim = axon::optim;
namespace losses = axon::fn::losses;
using axon::ParamPath;
using nx::Tensor;
using nx::Tree;

Tensor normal(int64_t seed, const nx::Shape& shape) {
  return nx::random::normal(nx::random::key(seed), shape);
}

void expect_close(const Tensor& a, const Tensor& b, double atol) {
  ASSERT_EQ(a.shape(), b.shape());
  Tensor d = nx::abs(nx::as_type(a, nx::f64) - nx::as_type(b, nx::f64));
  EXPECT_LE(nx::reduce_max(d).item<double>(), atol);
}

bool bit_equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  return nx::all(nx::equal(nx::as_type(a, nx::f64), nx::as_type(b, nx::f64))).item<bool>();
}

const Tensor& at(const axon::ModelState& s, const ParamPath& p) {
  const Tree* t = &s.data;
  for (const auto& part : p) t = t->find(part);
  return t->leaf();
}

// A loss of (prediction, targets).
using Loss = std::function<Tensor(const Tree& prediction, const Tree& targets)>;

struct Training {
  axon::ModelState state;
  std::vector<float> losses;
};

// `steps` full-batch Adam steps in train mode, each one compiled call: the model's data tree in,
// the trained data tree (parameters stepped, train-mode state merged by ModelState::update, so
// frozen paths stay) out.
Training train(const axon::Model& model, axon::ModelState s, const Tree& inputs,
               const Tree& targets, const Loss& loss, int steps, double lr = 1e-2) {
  auto predict_fn = axon::build(model, {.mode = axon::Mode::Train}).second;
  optim::Transformation opt = optim::adam({.learning_rate = lr});
  const std::set<ParamPath> state_paths = s.state, frozen = s.frozen;
  auto step = nx::jit([predict_fn, opt, loss, state_paths, frozen](
                          const Tree& data, const Tree& opt_state, const Tree& x, const Tree& y) {
    axon::ModelState cur{data, state_paths, frozen};
    Tree params = cur.trainable_parameters();
    nx::ValueAndGrad r = nx::value_and_grad_aux(params, [&](const Tree& p) {
      Tree out = predict_fn(cur.update(p), x);
      return std::pair<Tensor, Tree>{loss(out["prediction"], y), out["state"]};
    });
    optim::UpdateResult u = opt.update(r.grad, opt_state, params);
    Tree next = optim::apply_updates(params, u.updates);
    return Tree::list({cur.update(next, r.aux).data, u.state, Tree(r.value)});
  });
  Tree opt_state = opt.init(s.trainable_parameters());
  Training t;
  for (int i = 0; i < steps; ++i) {
    Tree out = step(s.data, opt_state, inputs, targets);
    s.data = out[0];
    opt_state = out[1];
    t.losses.push_back(nx::as_type(out[2].leaf(), nx::f32).item<float>());
  }
  EXPECT_EQ(step.stats().compiles, 1);
  t.state = std::move(s);
  return t;
}

Loss cross_entropy() {
  return [](const Tree& pred, const Tree& y) {
    return nx::mean(losses::categorical_cross_entropy(y.leaf(), pred.leaf()));
  };
}

Loss mse() {
  return [](const Tree& pred, const Tree& y) {
    return nx::mean(losses::mean_squared_error(y.leaf(), pred.leaf()));
  };
}

Tensor one_hot(const std::vector<int64_t>& labels, int64_t classes) {
  std::vector<float> v(labels.size() * static_cast<size_t>(classes), 0.0f);
  for (size_t i = 0; i < labels.size(); ++i) v[i * classes + labels[i]] = 1.0f;
  return nx::from_vector(v, nx::Shape{static_cast<int64_t>(labels.size()), classes});
}

void expect_learned(const Training& t) {
  ASSERT_GE(t.losses.size(), 2u);
  EXPECT_LT(t.losses.back(), 0.5f * t.losses.front())
      << "first " << t.losses.front() << " last " << t.losses.back();
}

// ---- VGG-style CNN ------------------------------------------------------------------------------

axon::Model vgg() {
  auto x = axon::input("image", {axon::kDynamic, 8, 8, 3});
  auto same = nx::Padding::same();
  auto h = axon::conv(x, 8, {.kernel_size = {3}, .padding = same, .activation = "relu"});
  h = axon::conv(h, 8, {.kernel_size = {3}, .padding = same, .activation = "relu"});
  h = axon::max_pool(h, {.kernel_size = {2}});
  h = axon::conv(h, 16, {.kernel_size = {3}, .padding = same, .activation = "relu"});
  h = axon::max_pool(h, {.kernel_size = {2}});
  h = axon::flatten(h);
  h = axon::dense(h, 16, {.activation = "relu"});
  h = axon::dropout(h, {.rate = 0.25});
  return axon::dense(h, 3, {.activation = "softmax"});
}

TEST(EndToEnd, VggStyleCnn) {
  auto [init_fn, predict_fn] = axon::build(vgg());
  axon::ModelState s = init_fn(nx::make_template({1, 8, 8, 3}, nx::f32));
  EXPECT_EQ(at(s, {"conv_0", "kernel"}).shape(), (nx::Shape{3, 3, 3, 8}));
  EXPECT_EQ(at(s, {"conv_1", "kernel"}).shape(), (nx::Shape{3, 3, 8, 8}));
  EXPECT_EQ(at(s, {"conv_2", "kernel"}).shape(), (nx::Shape{3, 3, 8, 16}));
  EXPECT_EQ(at(s, {"dense_0", "kernel"}).shape(), (nx::Shape{64, 16}));
  EXPECT_EQ(at(s, {"dense_1", "kernel"}).shape(), (nx::Shape{16, 3}));
  EXPECT_EQ(s.state, (std::set<ParamPath>{{"dropout_0", "key"}}));

  // Inference: the same network written with fn (dropout is the identity).
  Tensor x = normal(1, {12, 8, 8, 3});
  Tensor y = predict_fn(s, x).leaf();
  namespace fn = axon::fn;
  auto conv = [&](const Tensor& v, const std::string& l) {
    return fn::relu(
        fn::conv(v, at(s, {l, "kernel"}), at(s, {l, "bias"}), {.padding = nx::Padding::same()}));
  };
  auto dense = [&](const Tensor& v, const std::string& l) {
    return fn::dense(v, at(s, {l, "kernel"}), at(s, {l, "bias"}));
  };
  Tensor h = fn::max_pool(conv(conv(x, "conv_0"), "conv_1"), {.kernel_size = {2}});
  h = fn::flatten(fn::max_pool(conv(h, "conv_2"), {.kernel_size = {2}}));
  Tensor want = fn::softmax(dense(fn::relu(dense(h, "dense_0")), "dense_1"));
  expect_close(y, want, 1e-5);
  expect_close(nx::sum(y, {.axes = nx::Axes{1}}), nx::ones({12}), 1e-5);

  // Train mode (dropout active, its key advancing) learns 12 labelled images.
  Tensor labels = one_hot({0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2}, 3);
  Training t = train(vgg(), s, x, labels, cross_entropy(), 40);
  expect_learned(t);
  EXPECT_FALSE(bit_equal(at(t.state, {"dropout_0", "key"}), at(s, {"dropout_0", "key"})));
}

// ---- ResNet basic block -------------------------------------------------------------------------

// conv 3x3 -> bn -> relu -> conv 3x3 -> bn, plus the shortcut (a 1x1 conv + bn when the shape
// changes), then relu.
axon::Model basic_block(const axon::Model& x, int64_t units, int64_t stride, bool project) {
  auto same = nx::Padding::same();
  auto h = axon::conv(
      x, units, {.kernel_size = {3}, .strides = {stride}, .padding = same, .use_bias = false});
  h = axon::activation(axon::batch_norm(h), "relu");
  h = axon::conv(h, units, {.kernel_size = {3}, .padding = same, .use_bias = false});
  h = axon::batch_norm(h);
  axon::Model shortcut = x;
  if (project) {
    shortcut = axon::batch_norm(
        axon::conv(x, units, {.kernel_size = {1}, .strides = {stride}, .use_bias = false}));
  }
  return axon::activation(axon::add(h, shortcut), "relu");
}

axon::Model resnet() {
  auto x = axon::input("x", {axon::kDynamic, 6, 6, 4});
  auto h = basic_block(x, 4, 1, false);
  h = basic_block(h, 8, 2, true);
  return axon::dense(axon::flatten(axon::global_avg_pool(h)), 1);
}

TEST(EndToEnd, ResNetBasicBlock) {
  auto [init_fn, predict_fn] = axon::build(resnet());
  auto [i_train, train_fn] = axon::build(resnet(), {.mode = axon::Mode::Train});
  axon::ModelState s = init_fn(nx::make_template({1, 6, 6, 4}, nx::f32));
  EXPECT_EQ(at(s, {"conv_2", "kernel"}).shape(), (nx::Shape{3, 3, 4, 8}));
  EXPECT_EQ(at(s, {"conv_4", "kernel"}).shape(), (nx::Shape{1, 1, 4, 8}));
  EXPECT_FALSE(s.data["conv_0"].contains("bias"));
  EXPECT_EQ(s.state.size(), 10u);  // 5 batch norms x {mean, var}

  // The first block by hand, inference and train mode, against a model of that block alone.
  auto x_in = axon::input("x", {axon::kDynamic, 6, 6, 4});
  auto [bi, block_infer] = axon::build(basic_block(x_in, 4, 1, false));
  auto [bt, block_train] = axon::build(basic_block(x_in, 4, 1, false), {.mode = axon::Mode::Train});
  axon::ModelState bs = bi(nx::make_template({1, 6, 6, 4}, nx::f32));
  // Non-trivial running statistics.
  bs = bs.update(Tree(), Tree{{"batch_norm_0", Tree{{"mean", normal(5, {4}) * 0.1},
                                                    {"var", nx::exp(normal(6, {4}) * 0.2)}}}});
  namespace fn = axon::fn;
  Tensor x = normal(2, {5, 6, 6, 4});
  auto by_hand = [&](axon::Mode mode, Tree& state) {
    auto conv = [&](const Tensor& v, const std::string& l) {
      return fn::conv(v, at(bs, {l, "kernel"}), {}, {.padding = nx::Padding::same()});
    };
    auto bn = [&](const Tensor& v, const std::string& l) {
      fn::StatefulOutput o =
          fn::batch_norm(v, at(bs, {l, "gamma"}), at(bs, {l, "beta"}), at(bs, {l, "mean"}),
                         at(bs, {l, "var"}), {.mode = mode});
      state = state.set(l, o.state);
      return o.output;
    };
    Tensor h = fn::relu(bn(conv(x, "conv_0"), "batch_norm_0"));
    h = bn(conv(h, "conv_1"), "batch_norm_1");
    return fn::relu(h + x);
  };
  Tree unused, hand_state;
  expect_close(block_infer(bs, x).leaf(), by_hand(axon::Mode::Inference, unused), 1e-5);
  Tree r = block_train(bs, x);
  expect_close(r["prediction"].leaf(), by_hand(axon::Mode::Train, hand_state), 1e-5);
  for (const char* l : {"batch_norm_0", "batch_norm_1"}) {
    expect_close(r["state"][l]["mean"].leaf(), hand_state[l]["mean"].leaf(), 1e-6);
    expect_close(r["state"][l]["var"].leaf(), hand_state[l]["var"].leaf(), 1e-6);
  }

  // The two-block network regresses a target; the running statistics move.
  Tensor xs = normal(3, {16, 6, 6, 4});
  Tensor target =
      nx::sum(nx::reshape(xs, {16, 144}), {.axes = nx::Axes{1}, .keep_axes = true}) * 0.1;
  Training t = train(resnet(), s, xs, target, mse(), 40);
  expect_learned(t);
  EXPECT_FALSE(bit_equal(at(t.state, {"batch_norm_3", "mean"}), at(s, {"batch_norm_3", "mean"})));
  EXPECT_EQ(predict_fn(t.state, xs).leaf().shape(), (nx::Shape{16, 1}));
}

// ---- Multi-input, multi-output ------------------------------------------------------------------

axon::Model two_in_two_out() {
  auto image = axon::input("image", {axon::kDynamic, 4, 4, 1});
  auto meta = axon::input("meta", {axon::kDynamic, 3});
  auto a = axon::flatten(axon::conv(
      image, 2, {.kernel_size = {3}, .padding = nx::Padding::same(), .activation = "relu"}));
  auto b = axon::dense(meta, 4, {.activation = "relu"});
  auto h = axon::dense(axon::concatenate(a, b), 8, {.activation = "tanh"});
  return axon::container(
      {{"label", axon::dense(h, 3, {.activation = "softmax"})}, {"score", axon::dense(h, 1)}});
}

TEST(EndToEnd, MultiInputMultiOutput) {
  auto [init_fn, predict_fn] = axon::build(two_in_two_out());
  Tree templates{{"image", nx::make_template({1, 4, 4, 1}, nx::f32)},
                 {"meta", nx::make_template({1, 3}, nx::f32)}};
  axon::ModelState s = init_fn(templates);
  EXPECT_EQ(at(s, {"dense_1", "kernel"}).shape(), (nx::Shape{32 + 4, 8}));
  Tree inputs{{"image", normal(7, {9, 4, 4, 1})}, {"meta", normal(8, {9, 3})}};
  Tree y = predict_fn(s, inputs);
  ASSERT_TRUE(y.is_map());
  EXPECT_EQ(y["label"].leaf().shape(), (nx::Shape{9, 3}));
  EXPECT_EQ(y["score"].leaf().shape(), (nx::Shape{9, 1}));
  // By hand.
  namespace fn = axon::fn;
  auto dense = [&](const Tensor& v, const std::string& l) {
    return fn::dense(v, at(s, {l, "kernel"}), at(s, {l, "bias"}));
  };
  Tensor a =
      fn::flatten(fn::relu(fn::conv(inputs["image"].leaf(), at(s, {"conv_0", "kernel"}),
                                    at(s, {"conv_0", "bias"}), {.padding = nx::Padding::same()})));
  Tensor b = fn::relu(dense(inputs["meta"].leaf(), "dense_0"));
  Tensor h = fn::tanh(dense(nx::concatenate({a, b}, 1), "dense_1"));
  expect_close(y["label"].leaf(), fn::softmax(dense(h, "dense_2")), 1e-5);
  expect_close(y["score"].leaf(), dense(h, "dense_3"), 1e-5);
  EXPECT_THROW(predict_fn(s, Tree{{"image", inputs["image"]}}), nx::Error);

  // Both heads train together on the sum of their losses.
  Tree targets{{"label", one_hot({0, 1, 2, 2, 1, 0, 0, 1, 2}, 3)},
               {"score", nx::sum(inputs["meta"].leaf(), {.axes = nx::Axes{1}, .keep_axes = true})}};
  Loss both = [](const Tree& pred, const Tree& y) {
    return nx::mean(losses::categorical_cross_entropy(y["label"].leaf(), pred["label"].leaf())) +
           nx::mean(losses::mean_squared_error(y["score"].leaf(), pred["score"].leaf()));
  };
  expect_learned(train(two_in_two_out(), s, inputs, targets, both, 60));
}

// ---- Fine-tuning a namespaced pre-trained part --------------------------------------------------

axon::Model backbone(const axon::Model& x) {
  auto h = axon::dense(x, 8, {.activation = "relu"});
  h = axon::batch_norm(h);
  return axon::namespace_(axon::dense(h, 8, {.activation = "relu"}), "backbone");
}

TEST(EndToEnd, NamespaceFineTuningChangesOnlyTheNewHead) {
  Tensor x = normal(11, {16, 5});
  // Pre-train backbone + old head on task A.
  auto xa = axon::input("x", {axon::kDynamic, 5});
  axon::Model pre_model = axon::dense(backbone(xa), 2, {.name = "old_head"});
  axon::ModelState pre = axon::init(pre_model, nx::make_template({1, 5}, nx::f32));
  Tensor task_a = nx::sin(nx::slice_along_axis(x, 0, 2, 1));
  Training a = train(pre_model, pre, x, task_a, mse(), 30);
  expect_learned(a);
  pre = a.state;

  // The new model: the same backbone (rebuilt), a new head; the backbone comes from `pre`.
  auto xb = axon::input("x", {axon::kDynamic, 5});
  axon::Model model = axon::dense(backbone(xb), 3, {.name = "head", .activation = "softmax"});
  auto [init_fn, predict_fn] = axon::build(model);
  axon::ModelState s =
      init_fn(nx::make_template({1, 5}, nx::f32),
              axon::ModelState::from_tree(Tree{{"backbone", pre.data["backbone"]}}));
  EXPECT_FALSE(s.data.contains("old_head"));
  for (const auto& p : s.paths()) {
    if (p[0] == "backbone") {
      EXPECT_TRUE(bit_equal(at(s, p), at(pre, p)));
    }
  }
  s = s.freeze([](const ParamPath& p) { return p[0] == "backbone"; });
  EXPECT_EQ(s.trainable_parameters().keys(), std::vector<std::string>{"head"});

  Tensor labels = one_hot({0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0}, 3);
  Training t = train(model, s, x, labels, cross_entropy(), 40, 5e-2);
  EXPECT_LT(t.losses.back(), t.losses.front());
  for (const auto& p : s.paths()) {
    std::string name = p[0] + "." + p[1] + "." + p.back();
    if (p[0] == "backbone") {
      // Parameters and batch-norm statistics alike: frozen, so bit-identical.
      EXPECT_TRUE(bit_equal(at(t.state, p), at(pre, p))) << name;
    } else {
      EXPECT_FALSE(bit_equal(at(t.state, p), at(s, p))) << name;
    }
  }
}

// ---- Frozen by depth ----------------------------------------------------------------------------

axon::Model deep_mlp() {
  auto x = axon::input("x", {axon::kDynamic, 6});
  auto h = axon::dense(x, 8, {.activation = "tanh"});
  h = axon::batch_norm(h);
  h = axon::dense(h, 8, {.activation = "tanh"});
  h = axon::dense(h, 8, {.activation = "tanh"});
  return axon::dense(h, 1);
}

TEST(EndToEnd, LayersFrozenByDepthReceiveNoUpdate) {
  axon::Model model = deep_mlp();
  axon::ModelState s0 = axon::init(model, nx::make_template({1, 6}, nx::f32));
  Tensor x = normal(21, {32, 6});
  Tensor y = nx::sum(nx::sin(x), {.axes = nx::Axes{1}, .keep_axes = true});
  struct Case {
    axon::FreezeDepth depth;
    std::set<std::string> frozen;
  };
  for (const Case& c :
       {Case{{.up = 2}, {"dense_0", "batch_norm_0"}}, Case{{.down = 1}, {"dense_3"}}}) {
    axon::ModelState s = axon::freeze(model, s0, c.depth);
    Training t = train(model, s, x, y, mse(), 30);
    EXPECT_LT(t.losses.back(), t.losses.front());
    for (const auto& p : s0.paths()) {
      bool same = bit_equal(at(t.state, p), at(s0, p));
      EXPECT_EQ(same, c.frozen.count(p[0]) > 0) << p[0] << "." << p[1];
    }
  }
}

// ---- Mixed precision ----------------------------------------------------------------------------

TEST(EndToEnd, Bf16ComputeTrains) {
  namespace mp = axon::mixed_precision;
  axon::Model model =
      mp::apply_policy(deep_mlp(), mp::create_policy({.compute = nx::bf16, .output = nx::f32}),
                       mp::PolicyFilter{.except = {"batch_norm"}});
  axon::ModelState s = axon::init(model, nx::make_template({1, 6}, nx::f32));
  Tensor x = normal(31, {32, 6});
  Tensor y = nx::sum(nx::sin(x), {.axes = nx::Axes{1}, .keep_axes = true});
  Training t = train(model, s, x, y, mse(), 40);
  expect_learned(t);
  for (const auto& p : t.state.paths()) EXPECT_EQ(at(t.state, p).dtype(), nx::f32);
}

}  // namespace
