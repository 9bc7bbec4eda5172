// Reading and writing tensors: NumPy's .npy/.npz and Hugging Face's safetensors.
//
//   nx::io::save_npy("w.npy", w);                       // numpy.load("w.npy") reads it
//   nx::Tensor w2 = nx::io::load_npy("w.npy");
//   nx::io::save_npz("params.npz", params, {.compressed = true});   // names: "dense_0.kernel", ...
//   nx::Tree flat = nx::io::load_npz("params.npz");     // a map: name -> tensor, in file order
//   nx::io::save_safetensors("model.safetensors", params, {{"format", "pt"}});
//   auto [tensors, metadata] = nx::io::load_safetensors("model.safetensors");
//   nx::Tree nested = nx::tree_from_paths(nx::tree_flatten_with_paths(tensors));
//
// Saving takes any tree of concrete tensors; each tensor is stored under its dotted path
// (nx::tree_flatten_with_paths). Loading returns a flat map in file order.
//
// Readers treat their input as hostile: truncated data, bad magic, headers that lie about
// sizes, shapes whose products overflow, malformed JSON, out-of-range or overlapping offsets
// and zip entries with bad sizes or checksums all throw nx::Error with a message naming the
// function and the problem; no input makes them crash or allocate more than the input can hold
// (a deflated entry counts at deflate's maximum ratio of 1032:1).
//
// Dtypes: NPY stores every nx dtype but bf16, which NumPy lacks (saving it throws; convert with
// nx::as_type(t, nx::f32), or use safetensors, which has BF16). Loading accepts little- and
// big-endian data ('<f4', '>f4', '=f4', '|u1') and Fortran-order arrays (returned in row-major
// order). pred is stored as '|b1' / BOOL; a loaded boolean byte other than 0 reads as true.
// Files are written through a temporary "<path>.tmp" that is renamed when complete.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "nx/tensor.hpp"
#include "nx/tree.hpp"

namespace nx::io {

/// An encoded file in memory.
using Bytes = std::vector<uint8_t>;

// ---- NPY: one array -------------------------------------------------------------------------

/// Writes `t` as a .npy file (format 1.0, or 2.0 when the header needs it).
void save_npy(const std::filesystem::path& path, const Tensor& t);
/// Reads a .npy file (format 1.0, 2.0 or 3.0).
Tensor load_npy(const std::filesystem::path& path);
/// The bytes save_npy writes, byte-identical to numpy.save's for the same array.
Bytes encode_npy(const Tensor& t);
/// Reads .npy bytes; the data must end exactly where the header says.
Tensor decode_npy(std::span<const uint8_t> bytes);

// ---- NPZ: a zip of .npy members ----------------------------------------------------------------

/// Options of save_npz.
struct NpzOptions {
  bool compressed = false;  ///< deflate the members (numpy.savez_compressed) instead of storing
};
/// Writes each leaf of `tensors` as "<path>.npy" in a zip (numpy.savez / savez_compressed).
void save_npz(const std::filesystem::path& path, const Tree& tensors, const NpzOptions& opts = {});
/// Reads a .npz file (stored or deflated members) into a map: member name without ".npy" ->
/// tensor, in the order of the zip's central directory.
Tree load_npz(const std::filesystem::path& path);
/// The bytes save_npz writes.
Bytes encode_npz(const Tree& tensors, const NpzOptions& opts = {});
/// Reads .npz bytes.
Tree decode_npz(std::span<const uint8_t> bytes);

// ---- safetensors -----------------------------------------------------------------------------

/// Free-form string metadata of a safetensors file (its "__metadata__" object).
using Metadata = std::map<std::string, std::string>;

/// What a safetensors file holds.
struct Safetensors {
  Tree tensors;       ///< a map: tensor name -> tensor, in the header's order
  Metadata metadata;  ///< the "__metadata__" strings (empty when absent)
};

/// Writes each leaf of `tensors` under its dotted path, data in the same order, header padded
/// with spaces to a multiple of 8 bytes (as the reference implementation does).
void save_safetensors(const std::filesystem::path& path, const Tree& tensors,
                      const Metadata& metadata = {});
/// Reads a safetensors file, checking it against the format's rules (see the file comment).
Safetensors load_safetensors(const std::filesystem::path& path);
/// The bytes save_safetensors writes.
Bytes encode_safetensors(const Tree& tensors, const Metadata& metadata = {});
/// Reads safetensors bytes.
Safetensors decode_safetensors(std::span<const uint8_t> bytes);

}  // namespace nx::io
