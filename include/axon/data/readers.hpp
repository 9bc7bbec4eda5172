// Reading datasets from files: IDX (the MNIST format, gzipped or not), CSV, and the MNIST and
// Fashion-MNIST datasets.
//
//   nx::Tensor images = axon::data::read_idx("train-images-idx3-ubyte.gz");   // u8[60000][28][28]
//   nx::Tensor table = axon::data::read_csv("iris.csv", {.header = true, .columns = {0, 1, 2, 3}});
//   auto [train, test] = axon::data::fashion_mnist();  // Debian's dataset-fashion-mnist package
//   auto [tr, te] = axon::data::mnist("/data/mnist", {.normalize = true, .one_hot = true});
//
// NumPy files need no reader here: nx::io::load_npy / load_npz (nx/io.hpp) read them, and
// Dataset::from_tensors makes a dataset of the result.
//
// Readers treat their input as hostile: a bad magic number, an unknown type code, dimensions
// whose product overflows, data shorter or longer than the header says, a corrupt gzip stream
// and a non-numeric CSV field all throw nx::Error naming the function, the file and the problem
// (CSV errors give the line and column).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

#include "axon/data/dataset.hpp"
#include "nx/dtype.hpp"
#include "nx/tensor.hpp"

namespace axon::data {

// ---- IDX ---------------------------------------------------------------------------------------

/// Reads an IDX file: magic 00 00 <type> <rank>, rank big-endian u32 dimensions, then big-endian
/// data of type 0x08 u8, 0x09 s8, 0x0B s16, 0x0C s32, 0x0D f32 or 0x0E f64. A file that starts
/// with the gzip magic 1f 8b is decompressed first.
nx::Tensor read_idx(const std::filesystem::path& path);
/// Decodes IDX bytes (already decompressed); the data must end exactly where the header says.
nx::Tensor decode_idx(std::span<const uint8_t> bytes);
/// The IDX encoding of `t` (dtype u8, s8, s16, s32, f32 or f64; rank <= 255).
std::vector<uint8_t> encode_idx(const nx::Tensor& t);
/// Writes `t` as an IDX file (uncompressed).
void write_idx(const std::filesystem::path& path, const nx::Tensor& t);

/// The bytes of a file, gunzipped when they start with the gzip magic 1f 8b (concatenated gzip
/// members are joined, as gunzip does).
std::vector<uint8_t> read_maybe_gzipped(const std::filesystem::path& path);

// ---- CSV ---------------------------------------------------------------------------------------

/// Options of read_csv.
struct CsvOptions {
  bool header = false;             ///< the first line names the columns: skip it
  char delimiter = ',';            ///< the field separator
  std::vector<int64_t> columns{};  ///< the columns to keep, in this order (empty: all)
  nx::DType dtype = nx::f32;       ///< a numeric dtype; integer dtypes require integer fields
};
/// Reads a numeric CSV file into a {rows, columns} tensor. Fields may be surrounded by spaces
/// or double quotes; lines end with \n or \r\n; empty lines are skipped. Every row must have the
/// same number of fields. Floats accept "nan" and "inf". A file that starts with the gzip magic
/// is decompressed first.
nx::Tensor read_csv(const std::filesystem::path& path, const CsvOptions& opts = {});
/// read_csv on text in memory; errors name `source` instead of a file.
nx::Tensor parse_csv(std::string_view text, const CsvOptions& opts = {},
                     std::string_view source = "<text>");

// ---- MNIST-format datasets ---------------------------------------------------------------------

/// Options of mnist and fashion_mnist.
struct MnistOptions {
  bool normalize = false;  ///< images as f32 in [0, 1] (x / 255) instead of raw u8
  bool one_hot = false;    ///< labels as f32[n][10] one-hot rows instead of u8[n]
};
/// The train and test splits of a dataset.
struct Splits {
  Dataset train;  ///< the training examples
  Dataset test;   ///< the test examples
};
/// MNIST from `dir` holding train-images-idx3-ubyte, train-labels-idx1-ubyte,
/// t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each optionally with a ".gz" suffix:
/// images u8[n][28][28] as inputs, labels u8[n] as targets (60000 train, 10000 test).
Splits mnist(const std::filesystem::path& dir, const MnistOptions& opts = {});
/// Fashion-MNIST: the same files and layout as mnist; the default directory is where Debian's
/// dataset-fashion-mnist package installs them.
Splits fashion_mnist(const std::filesystem::path& dir = "/usr/share/datasets/fashion-mnist",
                     const MnistOptions& opts = {});

}  // namespace axon::data
