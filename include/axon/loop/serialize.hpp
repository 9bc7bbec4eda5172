// Saving and loading a loop's State: checkpoints that resume a run exactly.
//
//   axon::loop::save_state(state, "ckpt/epoch_3.ckpt");          // atomic
//   axon::loop::State back = axon::loop::load_state("ckpt/epoch_3.ckpt");
//   axon::loop::State done = loop.from_state(back).run(data, {}, {.epochs = 7});
//
// The file is safetensors: every step-state tensor under its dotted path prefixed by
// "step_state." (and "model_masks." for a ModelState data tree, when the masks hold one), and
// everything else (the step state's tree structure, epoch and iteration counters, metrics,
// history, times, handler metadata, event counts, status and the model masks' paths) as JSON in
// the metadata entry "axon.loop.state". Loading gives back the same State, tensors bit for bit
// and numbers exactly (doubles are written with 17 significant digits; NaN and infinities as
// the strings "NaN", "Infinity", "-Infinity"), so a run resumed from a file ends bit-identical
// to an uninterrupted run on the CPU.
//
// Writes are atomic: the bytes go to a temporary file in the target's directory, which is
// fsync'ed and renamed over the target, and the directory is fsync'ed; a crash at any moment
// leaves either the old file or the new one at the path, never a torn one. (A crash may leave a
// ".<name>.tmp.*" file behind; checkpoint() removes its own.)
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "axon/loop.hpp"

namespace axon::loop {

/// The file's bytes for `state`.
std::vector<uint8_t> encode_state(const State& state);
/// The State of encoded bytes; throws nx::Error naming the problem for malformed input.
State decode_state(std::span<const uint8_t> bytes);
/// Writes `state` to `path` atomically (see the file comment).
void save_state(const State& state, const std::filesystem::path& path);
/// Reads a file written by save_state.
State load_state(const std::filesystem::path& path);

/// Writes `bytes` to `path` atomically: temporary file in the same directory, fsync, rename,
/// fsync of the directory. Throws nx::Error naming `where` on failure.
void write_file_atomically(const std::filesystem::path& path, std::span<const uint8_t> bytes,
                           const std::string& where);

}  // namespace axon::loop
