// libFuzzer target: axon::onnx::import_bytes on arbitrary bytes. Each input must either import
// or throw nx::Error; anything else (a crash, another exception, a sanitizer report, an
// allocation past -malloc_limit_mb) is a finding. What imports must also flatten into a
// runnable program: building it walks every node the outputs reach.
#include <cstdint>
#include <span>

#include "axon/compiler.hpp"
#include "axon/onnx.hpp"
#include "nx/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    // No base directory: external data is refused rather than read from the fuzzer's cwd.
    axon::onnx::Imported m =
        axon::onnx::import_bytes(std::span<const uint8_t>(data, size), {}, {}, "fuzz.onnx");
    (void)axon::build(m.model);
    (void)m.state.num_parameters();
  } catch (const nx::Error&) {
  }
  return 0;
}
