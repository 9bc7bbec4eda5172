// Real models exported by PyTorch (gen_real_models.py: torchvision classifiers, Transformer
// encoders, an LSTM and a GRU over token ids) imported through axon::onnx, compiled with
// axon::build and compared with torch's outputs.
//
//   onnx_real_models --data DIR [gtest flags]    (DIR: gen_real_models.py's output)
//
// Every output must have torch's dtype and shape and a relative error
//   max |ours - torch| / max |torch|   (over the whole output tensor)
// of at most 1e-4; a classifier must also pick torch's class (argmax) in every row. Case 0 is
// the exported input; case 1, where present, another batch size (or sequence length), which
// the exported dynamic axes allow.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "axon/compiler.hpp"
#include "axon/onnx.hpp"
#include "nx/io.hpp"

namespace {

std::filesystem::path g_data_dir;

constexpr double kRelativeTolerance = 1e-4;

struct RealModel {
  const char* name;
  bool classifier;  ///< rows of class scores: argmax must agree too
};

// gtest prints the parameter of a failing test by this.
void PrintTo(const RealModel& m, std::ostream* os) {
  *os << m.name;
}

// The models of gen_real_models.py's MODELS.
const RealModel kModels[] = {
    {"resnet18", true},
    {"mobilenet_v2", true},
    {"mobilenet_v3_small", true},
    {"squeezenet1_1", true},
    {"shufflenet_v2_x0_5", true},
    {"efficientnet_b0", true},
    {"densenet121", true},
    {"googlenet", true},
    {"mnasnet0_5", true},
    {"regnet_y_400mf", true},
    {"vit_tiny", true},
    {"transformer_post_norm", false},
    {"transformer_pre_norm_gelu", false},
    {"lstm_tokens", false},
    {"gru_tokens", false},
};

std::string shape_text(const nx::Tensor& t) {
  return nx::Tree(t).to_string();
}

// max |a - b| / max |b|, for tensors of the same shape.
double relative_error(const nx::Tensor& ours, const nx::Tensor& torch) {
  auto a = ours.to_vector<double>();
  auto b = torch.to_vector<double>();
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::isnan(a[i]) ? INFINITY : std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return scale == 0 ? diff : diff / scale;
}

// Index of the largest value in each row of a [rows, classes] tensor.
std::vector<int64_t> row_argmax(const nx::Tensor& t) {
  auto v = t.to_vector<float>();
  int64_t classes = t.shape().back();
  std::vector<int64_t> out;
  for (size_t row = 0; row * classes < v.size(); ++row) {
    auto first = v.begin() + static_cast<std::ptrdiff_t>(row * classes);
    out.push_back(std::max_element(first, first + classes) - first);
  }
  return out;
}

class OnnxRealModels : public testing::TestWithParam<RealModel> {};

TEST_P(OnnxRealModels, MatchesTorch) {
  const RealModel& spec = GetParam();
  auto onnx_file = g_data_dir / (std::string(spec.name) + ".onnx");
  auto npz_file = g_data_dir / (std::string(spec.name) + ".npz");
  ASSERT_TRUE(std::filesystem::exists(onnx_file) && std::filesystem::exists(npz_file))
      << onnx_file << " or its .npz is missing: run gen_real_models.py " << g_data_dir;
  nx::Tree ref = nx::io::load_npz(npz_file);
  axon::onnx::Imported m = axon::onnx::import_file(onnx_file);
  EXPECT_EQ(m.producer.rfind("pytorch", 0), 0u) << m.producer;
  auto [init_fn, predict_fn] = axon::build(m.model);

  for (int k = 0; ref.contains("case" + std::to_string(k) + "_in0"); ++k) {
    std::string tag = "case" + std::to_string(k);
    nx::Tree::Map named;
    for (size_t i = 0; i < m.inputs.size(); ++i)
      named.emplace_back(m.inputs[i], ref[tag + "_in" + std::to_string(i)]);
    nx::Tree inputs = named.size() == 1 ? named[0].second : nx::Tree::map(named);
    nx::Tree y = predict_fn(m.state, inputs);
    for (size_t j = 0; j < m.outputs.size(); ++j) {
      std::string what = std::string(spec.name) + " " + tag + " output " + m.outputs[j];
      const nx::Tensor& ours = m.outputs.size() == 1 ? y.leaf() : y[m.outputs[j]].leaf();
      const nx::Tensor& torch = ref[tag + "_out" + std::to_string(j)].leaf();
      ASSERT_EQ(shape_text(ours), shape_text(torch)) << what;
      double rel = relative_error(ours, torch);
      EXPECT_LE(rel, kRelativeTolerance) << what;
      std::ostringstream text;
      text << std::scientific << rel;
      RecordProperty(tag + "_" + m.outputs[j] + "_relative_error", text.str());
      std::printf("%s: relative error %s\n", what.c_str(), text.str().c_str());
      if (spec.classifier) {
        EXPECT_EQ(row_argmax(ours), row_argmax(torch)) << what;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Torch, OnnxRealModels, testing::ValuesIn(kModels),
                         [](const testing::TestParamInfo<RealModel>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--data") g_data_dir = argv[i + 1];
  if (g_data_dir.empty()) {
    fprintf(stderr, "usage: onnx_real_models --data DIR (gen_real_models.py's output)\n");
    return 2;
  }
  return RUN_ALL_TESTS();
}
