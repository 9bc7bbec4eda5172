// ModelState: freezing by predicate and by depth (the first / last n layers with parameters),
// and safetensors interchange: a file written by Python from a PyTorch model predicts what torch
// predicted, a C++ save -> load -> save round trip is byte-exact, and a file written from C++ is
// read back by Python (json + numpy, tests/axon/model/data/read_safetensors.py) when
// /usr/bin/python3 with numpy is there.
#include "axon/model_state.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "axon/compiler.hpp"
#include "axon/layers/conv.hpp"
#include "axon/layers/dropout.hpp"
#include "axon/layers/linear.hpp"
#include "axon/layers/normalization.hpp"
#include "axon/layers/pooling.hpp"
#include "axon/layers/shape.hpp"
#include "axon/mixed_precision.hpp"
#include "nx/io.hpp"
#include "nx/nx.hpp"

namespace {

using axon::ParamPath;
using nx::Tensor;
using nx::Tree;

std::filesystem::path data_dir() {
  return std::filesystem::path(__FILE__).parent_path() / "data";
}

bool bit_equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  Tensor x = nx::as_type(a, nx::f64), y = nx::as_type(b, nx::f64);
  return nx::all(nx::equal(x, y)).item<bool>();
}

void expect_close(const Tensor& a, const Tensor& b, double atol) {
  ASSERT_EQ(a.shape(), b.shape());
  Tensor d = nx::abs(nx::as_type(a, nx::f64) - nx::as_type(b, nx::f64));
  EXPECT_LE(nx::reduce_max(d).item<double>(), atol);
}

// A temporary file name unique to this process (ctest runs tests in parallel).
std::filesystem::path temp_file(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         ("axon_model_state_test_" + std::to_string(getpid()) + "_" + name);
}

std::string read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// x -> [namespace enc: dense 6 -> batch_norm] -> dropout -> block(dense 4) -> dense 3 -> dense 2:
// parameter layers in order: enc.dense_0, enc.batch_norm_0, block_0.dense_0, dense_1, dense_2.
axon::Model deep_model() {
  auto x = axon::input("x", {axon::kDynamic, 5});
  auto enc = axon::namespace_(axon::batch_norm(axon::dense(x, 6)), "enc");
  auto h = axon::dropout(enc, {.rate = 0.2});
  auto shared =
      axon::block([](const std::vector<axon::Model>& in) { return axon::dense(in[0], 4); }, 1);
  h = shared({h});
  h = axon::dense(h, 3);
  return axon::dense(h, 2);
}

axon::ModelState deep_state() {
  return axon::init(deep_model(), nx::make_template({1, 5}, nx::f32));
}

std::set<ParamPath> frozen_layers(const axon::ModelState& s) {
  std::set<ParamPath> out;
  for (const auto& p : s.frozen) out.insert(ParamPath(p.begin(), p.end() - 1));
  return out;
}

TEST(ModelState, ParameterLayersInTopologicalOrder) {
  std::vector<ParamPath> want{{"enc", "dense_0"},
                              {"enc", "batch_norm_0"},
                              {"block_0", "dense_0"},
                              {"dense_1"},
                              {"dense_2"}};
  EXPECT_EQ(axon::parameter_layers(deep_model()), want);
  // Dropout (state only) is not a layer with parameters; a block called twice counts once.
  axon::ModelState s = deep_state();
  EXPECT_TRUE(s.data.contains("dropout_0"));
}

TEST(ModelState, FreezeUpAndDown) {
  axon::ModelState s = deep_state();
  axon::ModelState up = axon::freeze(deep_model(), s, {.up = 2});
  EXPECT_EQ(frozen_layers(up), (std::set<ParamPath>{{"enc", "dense_0"}, {"enc", "batch_norm_0"}}));
  // Every parameter of a frozen layer, its state included.
  EXPECT_TRUE(up.frozen.count({"enc", "batch_norm_0", "mean"}));
  EXPECT_TRUE(up.frozen.count({"enc", "batch_norm_0", "gamma"}));
  EXPECT_FALSE(up.trainable_parameters().contains("enc"));
  EXPECT_TRUE(up.trainable_parameters().contains("dense_1"));
  // The original is unchanged.
  EXPECT_TRUE(s.frozen.empty());

  axon::ModelState down = axon::freeze(deep_model(), s, {.down = 2});
  EXPECT_EQ(frozen_layers(down), (std::set<ParamPath>{{"dense_1"}, {"dense_2"}}));
  EXPECT_EQ(axon::freeze(deep_model(), s, {.up = 0}).frozen.size(), 0u);
  // More layers than the model has: all of them.
  axon::ModelState all = axon::freeze(deep_model(), s, {.down = 99});
  EXPECT_EQ(frozen_layers(all).size(), 5u);
  EXPECT_EQ(all.trainable_parameters().size(), 0u);

  // Unfreezing by depth undoes exactly those layers.
  axon::ModelState some = axon::unfreeze(deep_model(), all, {.up = 3});
  EXPECT_EQ(frozen_layers(some), (std::set<ParamPath>{{"dense_1"}, {"dense_2"}}));
}

TEST(ModelState, FreezeByPredicate) {
  axon::ModelState s = deep_state();
  axon::ModelState f = s.freeze([](const ParamPath& p) { return p[0] == "enc"; });
  EXPECT_EQ(frozen_layers(f), (std::set<ParamPath>{{"enc", "dense_0"}, {"enc", "batch_norm_0"}}));
  EXPECT_TRUE(f.frozen_parameters()["enc"].contains("dense_0"));
  EXPECT_TRUE(f.frozen_state()["enc"]["batch_norm_0"].contains("mean"));
  EXPECT_EQ(s.freeze().frozen.size(), s.paths().size());
  EXPECT_TRUE(f.unfreeze().frozen.empty());
  axon::ModelState g = f.unfreeze([](const ParamPath& p) { return p[1] == "batch_norm_0"; });
  EXPECT_EQ(frozen_layers(g), (std::set<ParamPath>{{"enc", "dense_0"}}));
}

TEST(ModelState, FreezeByDepthErrors) {
  axon::ModelState s = deep_state();
  auto message = [&](const auto& f) {
    try {
      f();
    } catch (const nx::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  std::string m = message([&] { axon::freeze(deep_model(), s, {}); });
  EXPECT_NE(m.find("axon::freeze: give exactly one of up and down"), std::string::npos) << m;
  m = message([&] { axon::freeze(deep_model(), s, {.up = 1, .down = 1}); });
  EXPECT_NE(m.find("exactly one"), std::string::npos) << m;
  m = message([&] { axon::unfreeze(deep_model(), s, {.up = -1}); });
  EXPECT_NE(m.find("axon::unfreeze: the number of layers must be >= 0, got -1"), std::string::npos)
      << m;
  m = message([&] { axon::freeze(deep_model(), axon::ModelState{}, {.up = 1}); });
  EXPECT_NE(m.find("no parameter enc.dense_0.kernel"), std::string::npos) << m;
}

// The network of gen_torch_cnn.py, channels first like torch.
axon::Model torch_cnn() {
  auto x = axon::input("x", {axon::kDynamic, 2, 6, 6});
  auto h = axon::conv(x, 4,
                      {.kernel_size = {3},
                       .padding = nx::Padding::same(),
                       .channels = axon::fn::Channels::First,
                       .activation = "relu"});
  h = axon::batch_norm(h, {.channel_index = 1});
  h = axon::max_pool(h, {.kernel_size = {2}, .channels = axon::fn::Channels::First});
  return axon::dense(axon::flatten(h), 5, {.activation = "softmax"});
}

TEST(ModelState, LoadsAPyTorchStateDictAndPredictsWhatTorchDid) {
  axon::ModelState s = axon::ModelState::load(data_dir() / "torch_cnn.safetensors");
  Tree ref = nx::io::load_npz(data_dir() / "torch_cnn.npz");
  auto [init_fn, predict_fn] = axon::build(torch_cnn());
  // Every parameter the model needs is in the file, with the shape the layer needs: init keeps
  // them all, and marks the batch-norm statistics as state.
  axon::ModelState full = init_fn(nx::make_template({1, 2, 6, 6}, nx::f32), s);
  for (const auto& p : s.paths()) {
    EXPECT_TRUE(bit_equal(full.data[p[0]][p[1]].leaf(), s.data[p[0]][p[1]].leaf()));
  }
  EXPECT_EQ(full.state, (std::set<ParamPath>{{"batch_norm_0", "mean"}, {"batch_norm_0", "var"}}));
  Tensor y = predict_fn(s, ref["x"].leaf()).leaf();
  expect_close(y, ref["y"].leaf(), 1e-6);
}

axon::ModelState trained_like_state() {
  // Mixed dtypes (bf16 parameters from a policy), state and frozen paths.
  namespace mp = axon::mixed_precision;
  axon::Model m = mp::apply_policy(deep_model(), mp::create_policy({.params = nx::bf16}),
                                   mp::PolicyFilter{.only = {"dense"}});
  axon::ModelState s = axon::init(m, nx::make_template({1, 5}, nx::f32));
  return axon::freeze(m, s, {.up = 1});
}

TEST(ModelState, SafetensorsRoundTripIsByteExact) {
  axon::ModelState s = trained_like_state();
  EXPECT_EQ(s.data["dense_1"]["kernel"].leaf().dtype(), nx::bf16);
  EXPECT_EQ(s.data["enc"]["batch_norm_0"]["gamma"].leaf().dtype(), nx::f32);
  auto a = temp_file("a.safetensors");
  auto b = temp_file("b.safetensors");
  s.save(a);
  axon::ModelState back = axon::ModelState::load(a);
  back.save(b);
  std::string bytes_a = read_bytes(a), bytes_b = read_bytes(b);
  std::filesystem::remove(a);
  std::filesystem::remove(b);
  EXPECT_FALSE(bytes_a.empty());
  EXPECT_EQ(bytes_a, bytes_b);
  EXPECT_EQ(back.state, s.state);
  EXPECT_EQ(back.frozen, s.frozen);
  ASSERT_EQ(back.paths(), s.paths());
  for (const auto& p : s.paths()) {
    const Tree* x = &s.data;
    const Tree* y = &back.data;
    for (const auto& part : p) {
      x = x->find(part);
      y = y->find(part);
    }
    EXPECT_TRUE(bit_equal(x->leaf(), y->leaf()));
  }
}

TEST(ModelState, PythonReadsWhatCppWrote) {
  if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "/usr/bin/python3 with numpy is not installed";
  }
  axon::ModelState s = trained_like_state();
  auto file = temp_file("py.safetensors");
  auto npz = temp_file("py.npz");
  s.save(file);
  std::string cmd = "/usr/bin/python3 " + (data_dir() / "read_safetensors.py").string() + " " +
                    file.string() + " " + npz.string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  Tree read = nx::io::load_npz(npz);
  std::filesystem::remove(file);
  std::filesystem::remove(npz);
  size_t tensors = 0;
  for (const auto& p : s.paths()) {
    std::string name = p[0];
    const Tree* t = &s.data;
    for (size_t i = 0; i < p.size(); ++i) {
      if (i) name += "." + p[i];
      t = t->find(p[i]);
    }
    ASSERT_TRUE(read.contains(name)) << name;
    const Tensor& mine = t->leaf();
    Tensor theirs = read[name].leaf();
    // numpy has no bf16: the reader widened it to f32 from the raw bits.
    EXPECT_TRUE(bit_equal(mine.dtype() == nx::bf16 ? nx::as_type(mine, nx::f32) : mine, theirs))
        << name;
    ++tensors;
  }
  EXPECT_EQ(read.size(), tensors + 1);  // + __metadata__
  Tensor meta = read["__metadata__"].leaf();
  std::string json;
  for (uint8_t c : meta.to_vector<uint8_t>()) json += static_cast<char>(c);
  EXPECT_NE(json.find("\"axon.frozen\": \"enc.dense_0.bias\\nenc.dense_0.kernel\""),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("enc.batch_norm_0.mean"), std::string::npos) << json;
  EXPECT_NE(json.find("\"format\": \"pt\""), std::string::npos) << json;
}

}  // namespace
