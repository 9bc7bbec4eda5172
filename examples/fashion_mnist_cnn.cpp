// Fashion-MNIST with a small convolutional network: the main job of `make demo`. Builds the
// model, prints its summary, trains it with Adam and a live progress bar, validates on the test
// set after every epoch, saves a checkpoint and the training history (`--help` for options).
//
//   fashion_mnist_cnn --epochs 10 --out /tmp/cnn     # about 91.5% test accuracy
#include "axon/layers/conv.hpp"
#include "axon/layers/dropout.hpp"
#include "axon/layers/linear.hpp"
#include "axon/layers/pooling.hpp"
#include "axon/layers/shape.hpp"
#include "fashion_mnist_common.hpp"

int main(int argc, char** argv) {
  example::Args args = example::parse_args(
      argc, argv, {.epochs = 10, .learning_rate = 3e-3, .out = "fashion_mnist_out"});
  // conv 32 3x3 relu, max pool 2, conv 64 3x3 relu, max pool 2, dense 128 relu, dropout, 10 logits.
  auto x = axon::input("image", {axon::kDynamic, 28, 28, 1});
  auto h = axon::conv(x, 32, {.kernel_size = {3}, .activation = "relu"});
  h = axon::max_pool(h, {.kernel_size = {2}});
  h = axon::conv(h, 64, {.kernel_size = {3}, .activation = "relu"});
  h = axon::max_pool(h, {.kernel_size = {2}});
  h = axon::flatten(h);
  h = axon::dense(h, 128, {.activation = "relu"});
  h = axon::dropout(h, {.rate = 0.3});
  auto logits = axon::dense(h, 10);
  return example::run("fashion_mnist_cnn", logits, {28, 28, 1}, args);
}
