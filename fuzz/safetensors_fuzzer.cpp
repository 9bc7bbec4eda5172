// libFuzzer target: nx::io::decode_safetensors on arbitrary bytes (see fuzz_common.hpp).
#include "fuzz_common.hpp"
#include "nx/io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nx::io::Safetensors file;
  try {
    file = nx::io::decode_safetensors(std::span<const uint8_t>(data, size));
  } catch (const nx::Error&) {
    return 0;
  }
  for (const nx::Tensor& t : nx::tree_leaves(file.tensors)) nx_fuzz::touch(t);
  nx::io::Safetensors back =
      nx::io::decode_safetensors(nx::io::encode_safetensors(file.tensors, file.metadata));
  if (back.metadata != file.metadata || back.tensors.keys() != file.tensors.keys()) std::abort();
  for (size_t i = 0; i < file.tensors.size(); ++i)
    nx_fuzz::require_same(back.tensors[i].leaf(), file.tensors[i].leaf());
  return 0;
}
