// libFuzzer target: nx::io::decode_npz on arbitrary bytes (see fuzz_common.hpp).
#include "fuzz_common.hpp"
#include "nx/io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nx::Tree tree;
  try {
    tree = nx::io::decode_npz(std::span<const uint8_t>(data, size));
  } catch (const nx::Error&) {
    return 0;
  }
  for (const nx::Tensor& t : nx::tree_leaves(tree)) nx_fuzz::touch(t);
  for (bool compressed : {false, true}) {
    nx::Tree back = nx::io::decode_npz(nx::io::encode_npz(tree, {.compressed = compressed}));
    if (back.keys() != tree.keys()) std::abort();
    for (size_t i = 0; i < tree.size(); ++i) nx_fuzz::require_same(back[i].leaf(), tree[i].leaf());
  }
  return 0;
}
