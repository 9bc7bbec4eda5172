// Fashion-MNIST with a multilayer perceptron: the model API, the training loop with a live
// progress bar, validation, a checkpoint and the training history (`fashion_mnist_mlp --help`).
//
//   fashion_mnist_mlp --epochs 15 --out /tmp/mlp     # about 89% test accuracy
#include "axon/layers/dropout.hpp"
#include "axon/layers/linear.hpp"
#include "axon/layers/shape.hpp"
#include "fashion_mnist_common.hpp"

int main(int argc, char** argv) {
  example::Args args = example::parse_args(argc, argv, {.epochs = 15, .out = "fashion_mnist_out"});
  // 784 -> 256 -> 128 -> 10 logits.
  auto x = axon::input("image", {axon::kDynamic, 28, 28});
  auto h = axon::flatten(x);
  h = axon::dense(h, 256, {.activation = "relu"});
  h = axon::dropout(h, {.rate = 0.2});
  h = axon::dense(h, 128, {.activation = "relu"});
  auto logits = axon::dense(h, 10);
  return example::run("fashion_mnist_mlp", logits, {28, 28}, args);
}
