// What the two Fashion-MNIST examples share: their command line, the data, and the run itself
// (summary, training with a live progress bar, validation on the test set after every epoch,
// checkpoint, loss curve, accuracy check). Each example only builds its model.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "axon/data/loader.hpp"
#include "axon/data/readers.hpp"
#include "axon/display.hpp"
#include "axon/fn/losses.hpp"
#include "axon/loop.hpp"
#include "axon/loop/handlers.hpp"
#include "axon/model.hpp"
#include "axon/optim.hpp"
#include "nx/nx.hpp"

namespace example {

/// The command line of both examples.
struct Args {
  int64_t epochs = 0;
  int64_t batch_size = 128;
  double learning_rate = 1e-3;
  bool cosine = true;  ///< decay the learning rate to 5% along a cosine over the run
  std::filesystem::path out = "fashion_mnist_out";
  std::filesystem::path data = "/usr/share/datasets/fashion-mnist";
  int64_t train_limit = 0;                    ///< use only the first n training images (0: all)
  std::optional<double> check_accuracy = {};  ///< exit 1 when the test accuracy is below this
  uint64_t seed = 0;
};

inline void usage(const char* prog, const Args& d) {
  std::cerr << "usage: " << prog << " [options]\n"
            << "  --epochs N          training epochs (default " << d.epochs << ")\n"
            << "  --batch-size N      batch size (default " << d.batch_size << ")\n"
            << "  --learning-rate X   Adam's learning rate (default " << d.learning_rate << ")\n"
            << "  --schedule S        cosine (default: decays to 5% over the run) or constant\n"
            << "  --out DIR           checkpoint and history directory (default " << d.out.string()
            << ")\n"
            << "  --data DIR          Fashion-MNIST IDX files (default " << d.data.string() << ")\n"
            << "  --train-limit N     train on the first N images only (default: all)\n"
            << "  --check-accuracy X  exit with status 1 if the test accuracy is below X\n"
            << "  --seed N            parameter initialisation and shuffling seed (default 0)\n";
}

/// Parses argv over `defaults`; exits with a usage message on a bad option.
inline Args parse_args(int argc, char** argv, Args defaults) {
  Args a = defaults;
  for (int i = 1; i < argc; ++i) {
    const std::string opt = argv[i];
    if (opt == "--help" || opt == "-h") {
      usage(argv[0], defaults);
      std::exit(0);
    }
    if (i + 1 >= argc) {
      std::cerr << argv[0] << ": " << opt << " needs a value (or is unknown)\n";
      usage(argv[0], defaults);
      std::exit(2);
    }
    const std::string v = argv[++i];
    try {
      if (opt == "--epochs") {
        a.epochs = std::stoll(v);
      } else if (opt == "--batch-size") {
        a.batch_size = std::stoll(v);
      } else if (opt == "--learning-rate") {
        a.learning_rate = std::stod(v);
      } else if (opt == "--schedule" && (v == "cosine" || v == "constant")) {
        a.cosine = v == "cosine";
      } else if (opt == "--out") {
        a.out = v;
      } else if (opt == "--data") {
        a.data = v;
      } else if (opt == "--train-limit") {
        a.train_limit = std::stoll(v);
      } else if (opt == "--check-accuracy") {
        a.check_accuracy = std::stod(v);
      } else if (opt == "--seed") {
        a.seed = std::stoull(v);
      } else {
        std::cerr << argv[0] << ": unknown option " << opt << "\n";
        usage(argv[0], defaults);
        std::exit(2);
      }
    } catch (const std::logic_error&) {
      std::cerr << argv[0] << ": bad value for " << opt << ": " << v << "\n";
      std::exit(2);
    }
  }
  if (a.epochs < 1 || a.batch_size < 1 || a.train_limit < 0) {
    std::cerr << argv[0] << ": --epochs and --batch-size must be >= 1, --train-limit >= 0\n";
    std::exit(2);
  }
  return a;
}

/// The exit status when the data set cannot be read (ctest's SKIP_RETURN_CODE for the accuracy
/// tests: a machine without the data skips them).
inline constexpr int kNoData = 77;

/// Fashion-MNIST's class names, by label.
inline const char* const kClasses[10] = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                         "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                         "Bag",         "Ankle boot"};

/// Trains `model` (input f32[batch] ++ image_shape, output 10 logits) on Fashion-MNIST with
/// Adam and a live progress bar, validates on the test set after every epoch, saves the
/// weights, checkpoints, the history and its plot, and returns the process exit status.
inline int run(const std::string& name, const axon::Model& model, const nx::Shape& image_shape,
               const Args& args) {
  using axon::loop::State;
  const auto t0 = std::chrono::steady_clock::now();

  // The data: u8 images scaled to [0, 1] and one-hot labels, converted once; each batch is then
  // a gather of rows.
  axon::data::Splits splits;
  try {
    splits = axon::data::fashion_mnist(args.data, {.normalize = true, .one_hot = true});
  } catch (const nx::Error& e) {
    std::cerr << name << ": " << e.what() << "\n";
    return kNoData;
  }
  auto to_images = [&image_shape](axon::data::Batch b) {
    nx::Tensor x = b.inputs.leaf();
    nx::Shape s{x.shape()[0]};
    s.insert(s.end(), image_shape.begin(), image_shape.end());
    return axon::data::Batch{nx::reshape(x, s), b.targets};
  };
  axon::data::Dataset train = splits.train.map_all(to_images);
  axon::data::Dataset test = splits.test.map_all(to_images);
  if (args.train_limit > 0 && args.train_limit < train.size()) train = train.take(args.train_limit);
  std::cout << name << ": Fashion-MNIST from " << args.data.string() << ": " << train.size()
            << " training and " << test.size() << " test images\n\n";

  nx::Shape one{1};
  one.insert(one.end(), image_shape.begin(), image_shape.end());
  std::cout << axon::summary(model, nx::make_template(one, nx::f32)) << "\n";

  axon::data::Loader train_loader(train, {.batch_size = args.batch_size,
                                          .shuffle = true,
                                          .seed = static_cast<int64_t>(args.seed),
                                          .prefetch = 1});
  axon::data::Loader test_loader(test, {.batch_size = 1000});

  // Softmax cross-entropy on the logits, averaged over the batch.
  axon::loop::Loss loss = axon::fn::losses::Loss([](const nx::Tensor& y, const nx::Tensor& p) {
    return axon::fn::losses::categorical_cross_entropy(
        y, p, {.from_logits = true, .reduction = axon::fn::losses::Reduction::Mean});
  });
  const int64_t steps = args.epochs * *train_loader.size();
  axon::optim::Rate lr = args.learning_rate;
  if (args.cosine)
    lr = axon::optim::cosine_decay(args.learning_rate, {.decay_steps = steps, .alpha = 0.05});
  const std::filesystem::path history_csv = args.out / (name + "_history.csv");
  const std::filesystem::path curves = args.out / (name + "_curves.svg");
  const std::filesystem::path ckpt_dir = args.out / (name + "_checkpoints");
  const std::filesystem::path weights = args.out / (name + ".safetensors");
  std::filesystem::create_directories(args.out);

  // The trainer (loss and accuracy, as running means over the epoch), validation on the test
  // set after every epoch ("validation_loss", "validation_accuracy"), the progress bar, the
  // history with its plot, and a checkpoint of the whole loop state after every epoch.
  axon::loop::Loop loop = axon::loop::trainer(model, loss, axon::optim::adam({.learning_rate = lr}),
                                              {.seed = args.seed, .log = false})
                              .metric("accuracy");
  loop = axon::loop::validate(loop, model, test_loader, {.loss = loss});
  loop = axon::loop::log_progress(loop, {.every = 5});
  loop = axon::loop::metrics_history(loop, {.csv = history_csv, .plot = curves});
  loop = axon::loop::checkpoint(loop, {.path = ckpt_dir, .keep_last = 1});

  State s = loop.run(train_loader, {}, {.epochs = args.epochs});
  const double test_accuracy = s.history.rbegin()->second.at("validation_accuracy");
  axon::ModelState trained = s.model_state();
  trained.save(weights);

  // A few test predictions with their classes.
  auto [init_fn, predict_fn] = axon::build(model);
  axon::data::Batch few = test.batch(0, 8);
  nx::Tensor predicted = nx::argmax(predict_fn(trained, few.inputs).leaf(), {.axis = -1});
  nx::Tensor actual = nx::argmax(few.targets.leaf(), {.axis = -1});
  const std::vector<int64_t> pv = predicted.to_vector<int64_t>();
  const std::vector<int64_t> av = actual.to_vector<int64_t>();
  std::cout << "\nFirst test images: predicted (actual)\n";
  for (size_t i = 0; i < pv.size(); ++i) {
    const int64_t p = pv[i], a = av[i];
    std::cout << "  " << kClasses[p] << " (" << kClasses[a] << ")" << (p == a ? "" : "  <- wrong")
              << "\n";
  }

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "\n"
            << name << ": test accuracy " << std::fixed << std::setprecision(4) << test_accuracy
            << " after " << args.epochs << " epochs (" << std::setprecision(1) << seconds << " s)\n"
            << "weights:     " << weights.string() << " (axon::ModelState::load reads them)\n"
            << "checkpoints: " << ckpt_dir.string()
            << "/ (the loop state: axon::loop::load_state, Loop::from_state resumes)\n"
            << "history:     " << history_csv.string() << "\n"
            << "loss curve:  " << curves.string() << "\n";
  if (args.check_accuracy && test_accuracy < *args.check_accuracy) {
    std::cout << "FAILED: test accuracy " << test_accuracy << " < " << *args.check_accuracy << "\n";
    return 1;
  }
  return 0;
}

}  // namespace example
