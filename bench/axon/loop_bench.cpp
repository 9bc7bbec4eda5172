// axon::loop benchmarks: one Fashion-MNIST epoch of the examples' CNN (examples/
// fashion_mnist_cnn.cpp without its progress log and validation).
//  - loop.cnn_epoch_overhead: the epoch through the Loop API (axon::loop::trainer, log off:
//    events, the running loss, the step state handed back each batch) against the same
//    compiled step (train_step's, jitted with the state donated) called in a bare C++ loop over
//    the same batches. The ratio is the Loop's cost; 1.0 means none.
//  - loop.cnn_fashion_epoch: the same epoch against PyTorch (bench/refs/torch_fn_loop.py: the
//    same model in NCHW, torch.optim.Adam, the same batches as float tensors in memory).
// Both read the training split from Debian's dataset-fashion-mnist; where it is not installed
// they use synthetic images of the same shape (ramps) and cyclic labels, and say so in their
// description.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "../harness/registry.hpp"
#include "../nx/inputs.hpp"
#include "axon/compiler.hpp"
#include "axon/data/readers.hpp"
#include "axon/fn/losses.hpp"
#include "axon/layers/conv.hpp"
#include "axon/layers/dropout.hpp"
#include "axon/layers/linear.hpp"
#include "axon/layers/pooling.hpp"
#include "axon/layers/shape.hpp"
#include "axon/loop.hpp"
#include "nx/defn.hpp"

namespace nx_bench {
namespace {

constexpr int64_t kBatch = 128;
constexpr int64_t kTrain = 60000;
const char* const kDataDir = "/usr/share/datasets/fashion-mnist";

bool have_data() {
  return std::filesystem::exists(std::filesystem::path(kDataDir) / "train-images-idx3-ubyte.gz");
}

// The examples' CNN, channels last (Axon's default).
axon::Model cnn() {
  auto x = axon::input("image", {axon::kDynamic, 28, 28, 1});
  auto h = axon::conv(x, 32, {.kernel_size = {3}, .activation = "relu"});
  h = axon::max_pool(h, {.kernel_size = {2}});
  h = axon::conv(h, 64, {.kernel_size = {3}, .activation = "relu"});
  h = axon::max_pool(h, {.kernel_size = {2}});
  h = axon::flatten(h);
  h = axon::dense(h, 128, {.activation = "relu"});
  h = axon::dropout(h, {.rate = 0.3});
  return axon::dense(h, 10);
}

axon::loop::Loss logits_loss() {
  return axon::fn::losses::Loss([](const nx::Tensor& y, const nx::Tensor& p) {
    return axon::fn::losses::categorical_cross_entropy(
        y, p, {.from_logits = true, .reduction = axon::fn::losses::Reduction::Mean});
  });
}

// The epoch's batches, in order: images f32[128][28][28][1] in [0, 1], one-hot f32 labels (the
// last batch holds the remaining 96).
std::shared_ptr<const std::vector<axon::data::Batch>> epoch_batches() {
  static std::weak_ptr<const std::vector<axon::data::Batch>> cache;
  if (auto b = cache.lock()) return b;
  axon::data::Dataset train;
  if (have_data()) {
    train = axon::data::fashion_mnist(kDataDir, {.normalize = true, .one_hot = true}).train;
  } else {
    nx::Tensor labels = nx::remainder(nx::iota({kTrain}, nx::s64), nx::scalar_int(10, nx::s64));
    train = axon::data::Dataset::from_tensors(ramp({kTrain, 28, 28}, 251, 0.0f, 1.0f),
                                              nx::one_hot(labels, 10));
  }
  auto out = std::make_shared<std::vector<axon::data::Batch>>();
  for (int64_t start = 0; start < train.size(); start += kBatch) {
    axon::data::Batch b = train.batch(start, kBatch);
    const int64_t n = b.inputs.leaf().shape()[0];
    out->push_back({nx::Tree(nx::reshape(b.inputs.leaf(), {n, 28, 28, 1})), b.targets});
  }
  cache = out;
  return out;
}

// A BatchSource over batches already in memory.
class MemorySource : public axon::data::BatchSource {
 public:
  explicit MemorySource(std::shared_ptr<const std::vector<axon::data::Batch>> b)
      : batches_(std::move(b)) {}
  void start(int64_t) override { next_ = 0; }
  std::optional<axon::data::Batch> next() override {
    if (next_ >= batches_->size()) return std::nullopt;
    return (*batches_)[next_++];
  }
  std::optional<int64_t> size() const override { return static_cast<int64_t>(batches_->size()); }

 private:
  std::shared_ptr<const std::vector<axon::data::Batch>> batches_;
  size_t next_ = 0;
};

std::string data_words() {
  return have_data() ? "Fashion-MNIST's 60000 training images"
                     : "synthetic data (dataset-fashion-mnist is not installed): 60000 ramp "
                       "images f32[28][28][1] and cyclic labels";
}

// Our side: one epoch through axon::loop::trainer (no log), from the same initial state.
Setup loop_epoch() {
  return [] {
    auto batches = epoch_batches();
    auto source = std::make_shared<MemorySource>(batches);
    const axon::Model model = cnn();
    auto loop = std::make_shared<axon::loop::Loop>(axon::loop::trainer(
        model, logits_loss(), axon::optim::adam({.learning_rate = 1e-3}), {.log = false}));
    auto init = std::make_shared<axon::ModelState>(
        axon::init(model, nx::make_template({kBatch, 28, 28, 1}, nx::f32)));
    auto last = std::make_shared<axon::loop::State>();
    return RunOnce(
        [loop, source, init, last] { *last = loop->run(*source, *init, {.epochs = 1}); });
  };
}

// The bare loop: train_step's step, jitted with the state donated, over the same batches.
Setup bare_epoch() {
  return [] {
    auto batches = epoch_batches();
    const axon::Model model = cnn();
    auto [init, step] =
        axon::loop::train_step(model, logits_loss(), axon::optim::adam({.learning_rate = 1e-3}));
    auto loop_state = std::make_shared<axon::loop::State>();
    axon::ModelState initial = axon::init(model, nx::make_template({kBatch, 28, 28, 1}, nx::f32));
    auto state = std::make_shared<nx::Tree>(init(batches->front(), initial, *loop_state));
    nx::JitOptions jo;
    jo.donate = {0};
    auto masks = std::make_shared<axon::ModelState>(loop_state->model_masks);
    auto jitted = std::make_shared<nx::JitFunction>(
        [step](const nx::Tree& args, const void* ctx) {
          nx::Tree next = step(axon::data::Batch{args[1], args[2]}, args[0],
                               *static_cast<const axon::ModelState*>(ctx));
          // The outputs of a step are not carried into the next one.
          return nx::Tree{{"model_state", next["model_state"]},
                          {"optimizer_state", next["optimizer_state"]},
                          {"loss_scale_state", next["loss_scale_state"]},
                          {"loss", next["loss"]}};
        },
        jo);
    return RunOnce([batches, state, masks, jitted] {
      for (const axon::data::Batch& b : *batches) {
        nx::Tree carry{{"model_state", (*state)["model_state"]},
                       {"optimizer_state", (*state)["optimizer_state"]},
                       {"loss_scale_state", (*state)["loss_scale_state"]}};
        *state = nx::Tree();
        *state =
            (*jitted)(nx::Tree::list({std::move(carry), b.inputs, b.targets}), "", masks.get());
      }
    });
  };
}

Benchmark epoch_overhead() {
  Benchmark b;
  b.name = "loop.cnn_epoch_overhead";
  b.unit = Unit::kSamplesPerSecond;
  b.work = static_cast<double>(kTrain);
  b.description =
      "one epoch (469 batches of 128, Adam 1e-3) of the Fashion-MNIST CNN (conv32-pool-conv64-"
      "pool-dense128-dropout-dense10, NHWC) through axon::loop::trainer (log off) vs the same "
      "compiled train step in a bare C++ loop over the same batches; data: " +
      data_words();
  b.setup = loop_epoch();
  b.references = {Reference{"bare", "bare C++ loop over the same jitted train_step", bare_epoch()}};
  return b;
}

Benchmark fashion_epoch() {
  Benchmark b;
  b.name = "loop.cnn_fashion_epoch";
  b.unit = Unit::kSamplesPerSecond;
  b.work = static_cast<double>(kTrain);
  b.description =
      "one epoch (469 batches of 128, Adam 1e-3) of the Fashion-MNIST CNN through "
      "axon::loop::trainer (log off, NHWC) vs PyTorch eager (the same model in NCHW, "
      "torch.optim.Adam, the same batches in memory); data: " +
      data_words();
  b.setup = loop_epoch();
  b.references = {external("torch")};
  return b;
}

const Registrar epoch_overhead_bench{epoch_overhead()};
const Registrar fashion_epoch_bench{fashion_epoch()};

}  // namespace
}  // namespace nx_bench
