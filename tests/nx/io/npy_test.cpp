// NPY: files written by numpy (gen_npy_data.py) load exactly; files we write are what
// numpy.save writes (checked in C++ against numpy's own files, and by verify_npy_data.py);
// malformed input throws nx::Error.
#include "io_test_util.hpp"

namespace {

using namespace nx_io_test;
using nx::io::decode_npy;
using nx::io::encode_npy;
using nx::io::load_npy;

TEST(IoNpy, LoadsEveryNumpyDtypeInEveryLayout) {
  for (const auto& [stem, dtype] : numpy_dtypes()) {
    std::string s = stem;
    expect_same(load_npy(data_dir() / (s + ".npy")), expected_values(dtype, 6, {2, 3}), s);
    if (nx::byte_size(dtype) > 1) {
      expect_same(load_npy(data_dir() / (s + "_be.npy")), expected_values(dtype, 6, {2, 3}),
                  s + "_be");
    }
    expect_same(load_npy(data_dir() / (s + "_fortran.npy")), expected_values(dtype, 24, {2, 3, 4}),
                s + "_fortran");
  }
}

TEST(IoNpy, LoadsScalarsEmptyArraysAndOtherVersions) {
  expect_same(load_npy(data_dir() / "scalar_f8.npy"), nx::scalar(-1.25, nx::f64));
  expect_same(load_npy(data_dir() / "scalar_i4.npy"), nx::scalar(-5, nx::s32));
  expect_same(load_npy(data_dir() / "empty_f4.npy"), nx::zeros({0, 3}, nx::f32));
  expect_same(load_npy(data_dir() / "empty_i2.npy"), nx::zeros({2, 0, 4}, nx::s16));
  expect_same(load_npy(data_dir() / "vector_f4.npy"), expected_values(nx::f32, 5, {5}));
  expect_same(load_npy(data_dir() / "version2_f4.npy"), expected_values(nx::f32, 6, {2, 3}));
  expect_same(load_npy(data_dir() / "version3_f4.npy"), expected_values(nx::f32, 6, {2, 3}));
}

TEST(IoNpy, LoadsExtremeValuesBitExactly) {
  EXPECT_EQ(load_npy(data_dir() / "extremes_i8.npy").to_vector<int64_t>(),
            (std::vector<int64_t>{INT64_MIN, -1, INT64_MAX}));
  EXPECT_EQ(load_npy(data_dir() / "extremes_u8.npy").to_vector<uint64_t>(),
            (std::vector<uint64_t>{0, UINT64_MAX}));
  Tensor h = load_npy(data_dir() / "specials_f2.npy");
  ASSERT_EQ(h.dtype(), nx::f16);
  std::vector<uint16_t> bits;
  for (nx::half x : h.to_vector<nx::half>()) bits.push_back(x.bits);
  // inf, -inf, nan (numpy's quiet NaN), 2^-24 (smallest subnormal), 65504 (largest), -0.
  EXPECT_EQ(bits, (std::vector<uint16_t>{0x7C00, 0xFC00, 0x7E00, 0x0001, 0x7BFF, 0x8000}));
}

TEST(IoNpy, EncodesByteIdenticallyToNumpySave) {
  std::vector<std::string> stems;
  for (const auto& d : numpy_dtypes()) stems.push_back(d.stem);
  for (const char* extra : {"scalar_f8", "scalar_i4", "empty_f4", "empty_i2", "vector_f4",
                            "extremes_i8", "extremes_u8", "specials_f2"}) {
    stems.push_back(extra);
  }
  for (const std::string& s : stems) {
    fs::path p = data_dir() / (s + ".npy");
    EXPECT_EQ(encode_npy(load_npy(p)), read_bytes(p)) << s;
  }
}

TEST(IoNpy, RoundTripsEveryDtypeThroughBytesAndFiles) {
  fs::path dir = temp_dir("npy_roundtrip");
  for (const auto& [stem, dtype] : numpy_dtypes()) {
    for (const nx::Shape& shape :
         {nx::Shape{2, 3}, nx::Shape{}, nx::Shape{0}, nx::Shape{1, 1, 5}}) {
      Tensor t = expected_values(dtype, nx::num_elements(shape), shape);
      expect_same(decode_npy(encode_npy(t)), t, stem);
      nx::io::save_npy(dir / "t.npy", t);
      expect_same(load_npy(dir / "t.npy"), t, stem);
    }
  }
  EXPECT_FALSE(fs::exists(dir / "t.npy.tmp"));
  fs::remove_all(dir);
}

TEST(IoNpy, RefusesWhatItCannotWrite) {
  expect_error([] { encode_npy(nx::zeros({2}, nx::bf16)); }, "bf16 has no NumPy dtype");
  expect_error([] { encode_npy(nx::make_template({2}, nx::f32)); },
               "is a template and has no data");
  expect_error([] { encode_npy(Tensor()); }, "is an empty handle");
  expect_error([] { nx::io::save_npy("/nonexistent_dir_nx/x.npy", nx::zeros({2})); },
               "nx::io::save_npy(\"/nonexistent_dir_nx/x.npy\"): cannot open");
  expect_error([] { load_npy("/nonexistent_dir_nx/x.npy"); },
               "nx::io::load_npy(\"/nonexistent_dir_nx/x.npy\"): cannot open");
  expect_error([] { load_npy("/"); }, "is a directory");
}

// Numpy reads what we write, values and bytes (skipped without Debian's python3-numpy).
TEST(IoNpy, NumpyReadsOurFiles) {
  if (!numpy_available()) GTEST_SKIP() << "/usr/bin/python3 with numpy is not available";
  fs::path dir = temp_dir("npy_verify");
  for (const auto& [stem, dtype] : numpy_dtypes()) {
    nx::io::save_npy(dir / (std::string(stem) + ".npy"), expected_values(dtype, 6, {2, 3}));
  }
  nx::io::save_npy(dir / "scalar_f8.npy", nx::scalar(-1.25, nx::f64));
  nx::io::save_npy(dir / "empty_f4.npy", nx::zeros({0, 3}, nx::f32));
  nx::Tree nested{
      {"dense_0",
       {{"kernel", expected_values(nx::f32, 6, {2, 3})},
        {"bias", expected_values(nx::f64, 3, {3})}}},
      {"layers", nx::Tree::list({expected_values(nx::s64, 4, {4}),
                                 nx::from_vector(std::vector<bool>{true}, nx::Shape{})})}};
  nx::io::save_npz(dir / "nested.npz", nested);
  nx::io::save_npz(dir / "nested_compressed.npz", nested, {.compressed = true});
  std::string cmd =
      "/usr/bin/python3 " + (here() / "verify_npy_data.py").string() + " " + dir.string();
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  fs::remove_all(dir);
}

// A version 1.0 file with the given header dict and data bytes.
std::vector<uint8_t> npy_bytes(const std::string& dict, size_t data_bytes, uint8_t major = 1) {
  std::vector<uint8_t> b = {0x93, 'N', 'U', 'M', 'P', 'Y', major, 0};
  std::string h = dict + "\n";
  b.push_back(static_cast<uint8_t>(h.size()));
  b.push_back(static_cast<uint8_t>(h.size() >> 8));
  if (major != 1) b.insert(b.end(), {0, 0});
  b.insert(b.end(), h.begin(), h.end());
  b.insert(b.end(), data_bytes, 0);
  return b;
}

void expect_bad(const std::vector<uint8_t>& b, const std::string& fragment) {
  expect_error([&] { decode_npy(b); }, fragment);
}

TEST(IoNpy, RejectsMalformedHeaders) {
  const std::string ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  EXPECT_EQ(decode_npy(npy_bytes(ok, 8)).shape(), nx::Shape{2});
  EXPECT_EQ(
      decode_npy(npy_bytes("{\"shape\": (2, 1), \"fortran_order\": True, \"descr\": \">u2\"}", 4))
          .shape(),
      (nx::Shape{2, 1}));
  expect_bad({}, "too short for an NPY header");
  auto bad_magic = npy_bytes(ok, 8);
  bad_magic[1] = 'X';
  expect_bad(bad_magic, "bad magic");
  expect_bad(npy_bytes(ok, 8, 4), "unsupported NPY version 4.0");
  auto bad_len = npy_bytes(ok, 8);
  bad_len[8] = 0xFF;
  bad_len[9] = 0x7F;
  expect_bad(bad_len, "the NPY header claims 32767 bytes but only");
  expect_bad(npy_bytes(ok, 4), "(8 bytes) but 4 bytes of data follow");
  expect_bad(npy_bytes(ok, 12), "(8 bytes) but 12 bytes of data follow");
  expect_bad(npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 16),
             "unsupported dtype descr '<c8'");
  expect_bad(npy_bytes("{'descr': '|f4', 'fortran_order': False, 'shape': (2,), }", 8),
             "descr '|f4'");
  expect_bad(npy_bytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8),
             "structured arrays");
  expect_bad(npy_bytes("{'descr': '<f4', 'shape': (2,), }", 8),
             "must have 'descr', 'fortran_order' and 'shape'");
  expect_bad(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", 8),
             "unexpected key 'x'");
  expect_bad(
      npy_bytes("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", 8),
      "'descr' repeats");
  expect_bad(npy_bytes("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", 8), "True or False");
  expect_bad(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2)}", 8),
             "must be written (n,)");
  expect_bad(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}", 8),
             "non-negative integer");
  expect_bad(
      npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", 8),
      "does not fit in 64 bits");
  expect_bad(
      npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}", 8),
      "more elements than fit in 64 bits");
  // Empty, yet its other dimensions overflow (found by npy_fuzzer): strides would overflow.
  expect_bad(
      npy_bytes("{'descr': '<f2', 'fortran_order': True, 'shape': (0, 4294967296, 4294967296)}", 0),
      "more elements than fit in 64 bits");
  EXPECT_EQ(decode_npy(
                npy_bytes("{'descr': '<f2', 'fortran_order': True, 'shape': (0, 65536, 65536)}", 0))
                .shape(),
            (nx::Shape{0, 65536, 65536}));
  expect_bad(
      npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952,)}", 8),
      "does not fit in 64-bit byte offsets");
  expect_bad(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x", 8),
             "unexpected text");
  expect_bad(npy_bytes("['descr']", 8), "expected '{'");
  expect_bad(npy_bytes("{'descr': '<f4\\n', 'fortran_order': False, 'shape': (2,)}", 8),
             "string literal");
}

TEST(IoNpy, RejectsEveryTruncationAndSurvivesBitFlips) {
  expect_prefixes_rejected(read_bytes(data_dir() / "f32_fortran.npy"),
                           [](std::span<const uint8_t> b) { decode_npy(b); });
  expect_prefixes_rejected(read_bytes(data_dir() / "scalar_i4.npy"),
                           [](std::span<const uint8_t> b) { decode_npy(b); });
}

}  // namespace
