// ONNX import benchmarks (issue 8): models exported from PyTorch by bench/refs/onnx_models.py,
// imported with axon::onnx::import_file and run with predict_fn, against ONNX Runtime on the same
// file (bench/refs/ort_ref.js: row onnx.NAME) and the same module in PyTorch eager
// (bench/refs/torch_fn_onnx.py: row onnx.NAME.vs_torch).
//
// The .onnx files are generated, not committed: bench/run.py exports them into
// BUILD/bench/onnx_models and passes that directory as AXON_BENCH_MODELS; without the variable
// nx_bench looks in onnx_models/ next to its own executable (the same place).
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "../harness/registry.hpp"
#include "../nx/inputs.hpp"
#include "axon/compiler.hpp"
#include "axon/onnx.hpp"
#include "nx/error.hpp"

namespace nx_bench {
namespace {

std::filesystem::path models_dir() {
  if (const char* dir = std::getenv("AXON_BENCH_MODELS"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path("onnx_models") : exe.parent_path() / "onnx_models";
}

std::filesystem::path model_file(const std::string& model) {
  auto path = models_dir() / (model + ".onnx");
  if (!std::filesystem::is_regular_file(path)) {
    throw nx::Error("onnx." + model + ": expected the model file " + path.string() +
                    ", which does not exist; bench/run.py exports it (or run `/usr/bin/python3 "
                    "bench/refs/onnx_models.py DIR` and set AXON_BENCH_MODELS=DIR)");
  }
  return path;
}

// `model` as onnx_models.py names it; `sample` is one input sample's shape (no batch dimension).
Benchmark onnx_model(const std::string& model, int64_t batch, nx::Shape sample,
                     const std::string& what) {
  nx::Shape shape{batch};
  shape.insert(shape.end(), sample.begin(), sample.end());
  std::string dims;
  for (int64_t d : shape) dims += "[" + std::to_string(d) + "]";
  Benchmark b;
  b.name = "onnx." + model + "_b" + std::to_string(batch);
  b.unit = Unit::kMs;
  b.description = "predict_fn of " + model + ".onnx (" + what +
                  ", torch.onnx.export opset 17) imported with axon::onnx::import_file, input f32" +
                  dims + " (ramp, period 251, [-1, 1)); milliseconds per call";
  b.setup = [model, shape] {
    auto m = std::make_shared<axon::onnx::Imported>(axon::onnx::import_file(model_file(model)));
    auto [init_fn, predict_fn] = axon::build(m->model);
    auto x = ramp(shape, 251, -1.0f, 1.0f);
    // The first call traces and compiles predict for this batch; the timed calls reuse it.
    auto out = std::make_shared<nx::Tree>(predict_fn(m->state, x));
    return RunOnce([predict_fn, m, x, out] { *out = predict_fn(m->state, x); });
  };
  b.references = {external("ort"), external("torch")};
  return b;
}

const Registrar resnet18_b1{
    onnx_model("resnet18", 1, {3, 224, 224}, "torchvision resnet18, random weights, eval")};
const Registrar resnet18_b16{
    onnx_model("resnet18", 16, {3, 224, 224}, "torchvision resnet18, random weights, eval")};
const Registrar mobilenet_v2_b1{
    onnx_model("mobilenet_v2", 1, {3, 224, 224}, "torchvision mobilenet_v2, random weights, eval")};
const Registrar transformer_encoder_b2{
    onnx_model("transformer_encoder", 2, {128, 512},
               "6-layer nn.TransformerEncoder, d_model 512, 8 heads, feed-forward 2048, eval")};

}  // namespace
}  // namespace nx_bench
