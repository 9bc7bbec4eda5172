// MNIST and Fashion-MNIST: four IDX files in one directory, gzipped or not.
#include <filesystem>
#include <string>

#include "axon/data/readers.hpp"
#include "nx/error.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/indexing.hpp"

namespace axon::data {
namespace {

std::filesystem::path find_file(const char* fn, const std::filesystem::path& dir,
                                const std::string& name) {
  for (const std::string& candidate : {name, name + ".gz"}) {
    std::filesystem::path p = dir / candidate;
    std::error_code ec;
    if (std::filesystem::is_regular_file(p, ec)) return p;
  }
  throw nx::Error(std::string(fn) + ": neither \"" + (dir / name).string() + "\" nor \"" +
                  (dir / (name + ".gz")).string() + "\" exists" +
                  (std::string(fn) == "axon::data::fashion_mnist"
                       ? " (Debian installs them with: apt-get install dataset-fashion-mnist)"
                       : ""));
}

Dataset load_split(const char* fn, const std::filesystem::path& dir, const std::string& prefix,
                   const MnistOptions& opts) {
  std::filesystem::path images_path = find_file(fn, dir, prefix + "-images-idx3-ubyte");
  std::filesystem::path labels_path = find_file(fn, dir, prefix + "-labels-idx1-ubyte");
  nx::Tensor images = read_idx(images_path);
  nx::Tensor labels = read_idx(labels_path);
  if (images.dtype() != nx::u8 || images.rank() != 3) {
    throw nx::Error(std::string(fn) + ": \"" + images_path.string() +
                    "\" should hold u8 images [n][rows][columns], got " +
                    nx::type_string(images.type()));
  }
  if (labels.dtype() != nx::u8 || labels.rank() != 1 ||
      labels.axis_size(0) != images.axis_size(0)) {
    throw nx::Error(std::string(fn) + ": \"" + labels_path.string() + "\" should hold " +
                    std::to_string(images.axis_size(0)) + " u8 labels (one per image), got " +
                    nx::type_string(labels.type()));
  }
  nx::Tensor inputs = opts.normalize ? nx::divide(nx::as_type(images, nx::f32), 255.0f) : images;
  nx::Tensor targets = opts.one_hot ? nx::one_hot(labels, 10, nx::f32) : labels;
  return Dataset::from_tensors(inputs, targets);
}

Splits load(const char* fn, const std::filesystem::path& dir, const MnistOptions& opts) {
  return Splits{load_split(fn, dir, "train", opts), load_split(fn, dir, "t10k", opts)};
}

}  // namespace

Splits mnist(const std::filesystem::path& dir, const MnistOptions& opts) {
  return load("axon::data::mnist", dir, opts);
}

Splits fashion_mnist(const std::filesystem::path& dir, const MnistOptions& opts) {
  return load("axon::data::fashion_mnist", dir, opts);
}

}  // namespace axon::data
