// NPZ: archives written by numpy.savez / savez_compressed load exactly; ours round-trip (and
// numpy reads them: see IoNpy.NumpyReadsOurFiles); malformed zips throw nx::Error.
#include "io_test_util.hpp"

namespace {

using namespace nx_io_test;
using nx::Tree;
using nx::io::decode_npz;
using nx::io::encode_npz;

void expect_numpy_archive(const Tree& t) {
  std::vector<std::string> keys;
  for (const auto& d : numpy_dtypes()) keys.push_back(d.stem);
  keys.insert(keys.end(), {"scalar", "empty", "dense_0.kernel"});
  ASSERT_EQ(t.keys(), keys);
  for (const auto& [stem, dtype] : numpy_dtypes())
    expect_same(t[stem].leaf(), expected_values(dtype, 6, {2, 3}), stem);
  expect_same(t["scalar"].leaf(), nx::scalar(-1.25, nx::f64));
  expect_same(t["empty"].leaf(), nx::zeros({0, 3}, nx::f32));
  expect_same(t["dense_0.kernel"].leaf(), expected_values(nx::f32, 24, {2, 3, 4}));
}

TEST(IoNpz, LoadsNumpySavezAndSavezCompressed) {
  expect_numpy_archive(nx::io::load_npz(data_dir() / "stored.npz"));
  expect_numpy_archive(nx::io::load_npz(data_dir() / "compressed.npz"));
  expect_numpy_archive(decode_npz(read_bytes(data_dir() / "compressed.npz")));
}

TEST(IoNpz, LoadsALargeDeflatedMember) {
  Tensor big = nx::io::load_npz(data_dir() / "big_compressed.npz")["big"].leaf();
  ASSERT_EQ(big.shape(), nx::Shape{300000});
  std::vector<int32_t> v = big.to_vector<int32_t>();
  for (size_t i = 0; i < v.size(); ++i)
    ASSERT_EQ(v[i], static_cast<int32_t>(i % 1000 * 3) - 5) << i;
}

// gen_npy_data.py writes zip64.npz with Python's zip64 limits lowered, so it has zip64 extra
// fields in the central directory and zip64 end records, as archives past 4 GiB do.
TEST(IoNpz, LoadsZip64Structures) {
  Tree t = nx::io::load_npz(data_dir() / "zip64.npz");
  ASSERT_EQ(t.keys(), (std::vector<std::string>{"a", "b"}));
  expect_same(t["a"].leaf(), expected_values(nx::f32, 6, {2, 3}));
  expect_same(t["b"].leaf(), expected_values(nx::s64, 5, {5}));
}

Tree nested() {
  return Tree{{"dense_0",
               {{"kernel", expected_values(nx::f32, 6, {2, 3})},
                {"bias", expected_values(nx::f64, 3, {3})}}},
              {"layers", Tree::list({expected_values(nx::s64, 4, {4}), nx::zeros({0}, nx::u16),
                                     expected_values(nx::pred, 1, {})})}};
}

TEST(IoNpz, RoundTripsTreesStoredAndCompressed) {
  fs::path dir = temp_dir("npz_roundtrip");
  for (bool compressed : {false, true}) {
    Tree back = decode_npz(encode_npz(nested(), {.compressed = compressed}));
    EXPECT_EQ(back.keys(), (std::vector<std::string>{"dense_0.kernel", "dense_0.bias", "layers.0",
                                                     "layers.1", "layers.2"}));
    auto want = nx::tree_leaves(nested());
    auto got = nx::tree_leaves(back);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) expect_same(got[i], want[i]);
    nx::io::save_npz(dir / "t.npz", nested(), {.compressed = compressed});
    EXPECT_EQ(read_bytes(dir / "t.npz"), encode_npz(nested(), {.compressed = compressed}));
    EXPECT_EQ(nx::io::load_npz(dir / "t.npz").keys(), back.keys());
  }
  // An empty map is a valid empty archive.
  EXPECT_EQ(decode_npz(encode_npz(Tree())).size(), 0u);
  // Writing is deterministic: no timestamps.
  EXPECT_EQ(encode_npz(nested()), encode_npz(nested()));
  fs::remove_all(dir);
}

TEST(IoNpz, RefusesWhatItCannotWrite) {
  expect_error([] { encode_npz(Tree(nx::zeros({2}))); }, "needs a map or list of tensors");
  expect_error(
      [] {
        encode_npz(Tree{{"w", nx::zeros({2}, nx::bf16)}});
      },
      "bf16 has no NumPy dtype");
  expect_error(
      [] {
        encode_npz(Tree{{"w", nx::make_template({2}, nx::f32)}});
      },
      "the tensor \"w\" (f32[2]) is a template");
  expect_error(
      [] {
        encode_npz(Tree{{"a.b", nx::zeros({1})}, {"a", Tree{{"b", nx::zeros({1})}}}});
      },
      "two tensors have the path \"a.b\"");
  fs::path dir = temp_dir("npz_refuse");
  expect_error(
      [&] {
        nx::io::save_npz(dir / "x.npz", Tree{{"w", nx::zeros({2}, nx::bf16)}});
      },
      "bf16");
  EXPECT_FALSE(fs::exists(dir / "x.npz"));
  EXPECT_FALSE(fs::exists(dir / "x.npz.tmp"));
  fs::remove_all(dir);
}

// ---- malformed archives ----------------------------------------------------------------------

uint32_t get32(const std::vector<uint8_t>& b, size_t at) {
  return b[at] | b[at + 1] << 8 | b[at + 2] << 16 | static_cast<uint32_t>(b[at + 3]) << 24;
}
void set16(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  b[at] = v & 0xFF;
  b[at + 1] = (v >> 8) & 0xFF;
}
void set32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = (v >> (8 * i)) & 0xFF;
}
// Offsets of every occurrence of a zip signature.
std::vector<size_t> find_sig(const std::vector<uint8_t>& b, uint32_t sig) {
  std::vector<size_t> out;
  for (size_t i = 0; i + 4 <= b.size(); ++i) {
    if (get32(b, i) == sig) out.push_back(i);
  }
  return out;
}
constexpr uint32_t kLocal = 0x04034b50, kCentral = 0x02014b50, kEnd = 0x06054b50;

std::vector<uint8_t> two_members(bool compressed) {
  return encode_npz(
      Tree{{"a", expected_values(nx::f32, 6, {2, 3})}, {"b", expected_values(nx::s32, 40, {40})}},
      {.compressed = compressed});
}

void expect_bad(const std::vector<uint8_t>& b, const std::string& fragment) {
  expect_error([&] { decode_npz(b); }, fragment);
}

TEST(IoNpz, RejectsBadDirectoriesAndMembers) {
  for (bool compressed : {false, true}) {
    const std::vector<uint8_t> good = two_members(compressed);
    ASSERT_EQ(decode_npz(good).size(), 2u);
    auto central = find_sig(good, kCentral);
    auto local = find_sig(good, kLocal);
    size_t end = find_sig(good, kEnd).back();
    ASSERT_EQ(central.size(), 2u);

    expect_bad({}, "too short for an end record");
    expect_bad(std::vector<uint8_t>(100, 0), "no end of central directory record");

    auto m = good;  // a method other than stored/deflate
    set16(m, central[0] + 10, 12);
    expect_bad(m, "compression method 12");
    m = good;  // encrypted
    set16(m, central[0] + 8, 1);
    expect_bad(m, "is encrypted");
    m = good;  // CRC-32 that does not match
    set32(m, central[1] + 16, get32(m, central[1] + 16) ^ 1);
    expect_bad(m, "CRC-32 mismatch in \"b.npy\"");
    m = good;  // directory offset out of range
    set32(m, end + 16, static_cast<uint32_t>(good.size()));
    expect_bad(m, "does not lie before the end record");
    m = good;  // more members claimed than the directory can hold
    set16(m, end + 8, 60000);
    set16(m, end + 10, 60000);
    expect_bad(m, "claims 60000 members");
    m = good;  // multi-disk
    set16(m, end + 4, 1);
    expect_bad(m, "multi-disk");
    m = good;  // local header offset pointing at garbage
    set32(m, central[1] + 42, static_cast<uint32_t>(local[1] + 1));
    expect_bad(m, "bad local header signature");
    m = good;  // both members claim the same bytes
    set32(m, central[1] + 42, static_cast<uint32_t>(local[0]));
    expect_bad(m, "overlap");
    m = good;  // compressed size running into the directory
    set32(m, central[1] + 20, get32(m, central[1] + 20) + 1000);
    set32(m, central[1] + 24, get32(m, central[1] + 24) + 1000);
    expect_bad(m, "runs past the central directory");
    m = good;                      // the member name loses its .npy suffix
    m[central[0] + 46 + 1] = 'x';  // "a.npy" -> "axnpy"
    expect_bad(m, "is not an .npy file");
    m = good;  // both members named "a.npy"
    m[central[1] + 46] = 'a';
    expect_bad(m, "appears twice");
  }
}

TEST(IoNpz, RejectsSizesThatLie) {
  const std::vector<uint8_t> stored = two_members(false);
  auto central = find_sig(stored, kCentral);
  auto m = stored;  // stored, with the sizes disagreeing
  set32(m, central[0] + 24, get32(m, central[0] + 24) + 1);
  expect_bad(m, "is stored but its sizes differ");
  m = stored;  // stored, both sizes one byte short: the NPY inside no longer fits
  set32(m, central[0] + 20, get32(m, central[0] + 20) - 1);
  set32(m, central[0] + 24, get32(m, central[0] + 24) - 1);
  expect_bad(m, "bytes of data follow");

  const std::vector<uint8_t> deflated = two_members(true);
  central = find_sig(deflated, kCentral);
  m = deflated;  // uncompressed size larger than the stream
  set32(m, central[1] + 24, get32(m, central[1] + 24) + 4);
  expect_bad(m, "bytes of data follow");
  m = deflated;  // uncompressed size smaller than the stream
  set32(m, central[1] + 24, get32(m, central[1] + 24) - 4);
  expect_bad(m, "bytes of data follow");
  m = deflated;  // a zip bomb's claim: 4 GB from a few hundred bytes
  set32(m, central[1] + 24, 0xFFFFFFF0u);
  expect_bad(m, "beyond deflate's maximum ratio");
  m = deflated;  // corrupt deflate data
  auto local = find_sig(deflated, kLocal);
  size_t data = local[1] + 30 + 5;  // "b.npy"
  for (size_t i = 0; i < 8; ++i) m[data + 2 + i] ^= 0x5A;
  EXPECT_THROW(decode_npz(m), nx::Error);
}

TEST(IoNpz, RejectsEveryTruncationAndSurvivesBitFlips) {
  auto decode = [](std::span<const uint8_t> b) { decode_npz(b); };
  expect_prefixes_rejected(two_members(false), decode);
  expect_prefixes_rejected(two_members(true), decode);
}

}  // namespace
