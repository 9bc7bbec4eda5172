// safetensors: checked against the published format (huggingface/safetensors README, "Format")
// with files whose bytes the tests spell out, round trips of every dtype, and malformed input.
#include "io_test_util.hpp"

namespace {

using namespace nx_io_test;
using nx::Tree;
using nx::io::decode_safetensors;
using nx::io::encode_safetensors;

// 8-byte little-endian header size, the header text, then the data buffer.
std::vector<uint8_t> file_of(const std::string& header, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> b;
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(n >> (8 * i)));
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

TEST(IoSafetensors, WritesTheFormatByteForByte) {
  Tree t{
      {"w", nx::from_vector(std::vector<float>{1.0f, 2.0f})},
      {"b",
       Tree{{"c", nx::from_vector(std::vector<nx::bfloat16>{nx::bfloat16(1.0f)}, nx::Shape{})}}}};
  // Header: __metadata__ first, tensors in tree order under their dotted paths, then spaces to
  // a multiple of 8 bytes (141 -> 144 = 0x90).
  const std::string header =
      "{\"__metadata__\":{\"format\":\"pt\"},"
      "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"b.c\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[8,10]}}   ";
  std::vector<uint8_t> want = {0x90, 0, 0, 0, 0, 0, 0, 0};
  want.insert(want.end(), header.begin(), header.end());
  // f32 1.0 = 0x3f800000, 2.0 = 0x40000000, bf16 1.0 = 0x3f80, all little-endian.
  want.insert(want.end(), {0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40, 0x80, 0x3f});
  EXPECT_EQ(encode_safetensors(t, {{"format", "pt"}}), want);
}

TEST(IoSafetensors, ReadsAHandMadeFile) {
  // Written the way the reference implementation lays files out (data sorted by dtype size,
  // metadata anywhere in the object), with JSON whitespace and escapes, padded with spaces.
  const std::string header =
      "{ \"b\" : {\"dtype\": \"I16\", \"shape\": [2, 2], \"data_offsets\": [8, 16]},\n"
      "  \"__metadata__\": {\"format\": \"pt\", \"note\": \"caf\\u00e9 \\\"q\\\"\"},\n"
      "  \"a\\/x\": {\"dtype\": \"U64\", \"shape\": [1], \"data_offsets\": [0, 8]},\n"
      "  \"flag\": {\"dtype\": \"BOOL\", \"shape\": [3], \"data_offsets\": [16, 19]},\n"
      "  \"none\": {\"dtype\": \"F32\", \"shape\": [0, 7], \"data_offsets\": [19, 19]}}    ";
  std::vector<uint8_t> data = {0xFF, 0, 0,    0,    0, 0, 0,    0x80,  // u64 2^63 + 255
                               1,    0, 0xFE, 0xFF, 3, 0, 0x00, 0x80,  // i16 1, -2, 3, -32768
                               0,    1, 7};                            // booleans; 7 reads as true
  nx::io::Safetensors s = decode_safetensors(file_of(header, data));
  EXPECT_EQ(s.metadata, (nx::io::Metadata{{"format", "pt"}, {"note", "caf\xC3\xA9 \"q\""}}));
  ASSERT_EQ(s.tensors.keys(), (std::vector<std::string>{"b", "a/x", "flag", "none"}));
  EXPECT_EQ(s.tensors["a/x"].leaf().to_vector<uint64_t>(),
            (std::vector<uint64_t>{(1ull << 63) + 255}));
  EXPECT_EQ(s.tensors["b"].leaf().shape(), (nx::Shape{2, 2}));
  EXPECT_EQ(s.tensors["b"].leaf().to_vector<int16_t>(), (std::vector<int16_t>{1, -2, 3, -32768}));
  expect_same(s.tensors["flag"].leaf(), nx::from_vector(std::vector<bool>{false, true, true}));
  expect_same(s.tensors["none"].leaf(), nx::zeros({0, 7}, nx::f32));
}

TEST(IoSafetensors, RoundTripsEveryDtypeWithMetadata) {
  std::vector<nx::DType> all = {nx::pred, nx::u8,  nx::u16, nx::u32,  nx::u64, nx::s8, nx::s16,
                                nx::s32,  nx::s64, nx::f16, nx::bf16, nx::f32, nx::f64};
  Tree::Map m;
  for (nx::DType d : all)
    m.emplace_back(std::string(nx::dtype_name(d)), Tree(expected_values(d, 6, {3, 2})));
  m.emplace_back("scalar", Tree(nx::scalar(-1.25, nx::f64)));
  m.emplace_back("empty", Tree(nx::zeros({2, 0}, nx::bf16)));
  m.emplace_back("nested", Tree::list({expected_values(nx::s32, 3, {3})}));
  Tree t(m);
  nx::io::Metadata meta{{"format", "np"}, {"\xE2\x9C\x93 utf-8", "line\nbreak \"quoted\" \\ \x01"}};
  fs::path dir = temp_dir("safetensors");
  nx::io::save_safetensors(dir / "t.safetensors", t, meta);
  for (const nx::io::Safetensors& s : {decode_safetensors(encode_safetensors(t, meta)),
                                       nx::io::load_safetensors(dir / "t.safetensors")}) {
    EXPECT_EQ(s.metadata, meta);
    std::vector<nx::PathLeaf> want = nx::tree_flatten_with_paths(t);
    ASSERT_EQ(s.tensors.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(s.tensors.keys()[i], want[i].path);
      expect_same(s.tensors[i].leaf(), want[i].tensor, want[i].path);
    }
  }
  EXPECT_EQ(read_bytes(dir / "t.safetensors"), encode_safetensors(t, meta));
  // Back to the nested tree by paths.
  Tree nested = nx::tree_from_paths(
      nx::tree_flatten_with_paths(decode_safetensors(encode_safetensors(t)).tensors));
  EXPECT_EQ(nested["nested"]["0"].leaf().to_vector<int32_t>(), (std::vector<int32_t>{-5, -2, 1}));
  // No tensors at all is a valid file: "{}" padded to 8 bytes.
  std::vector<uint8_t> empty = encode_safetensors(Tree());
  EXPECT_EQ(empty, file_of("{}      ", {}));
  EXPECT_EQ(decode_safetensors(empty).tensors.size(), 0u);
  fs::remove_all(dir);
}

TEST(IoSafetensors, RefusesWhatItCannotWrite) {
  expect_error([] { encode_safetensors(Tree(nx::zeros({1}))); }, "needs a map or list");
  expect_error(
      [] {
        encode_safetensors(Tree{{"__metadata__", nx::zeros({1})}});
      },
      "cannot be named \"__metadata__\"");
  expect_error([] { encode_safetensors(Tree{{"bad\xFF", nx::zeros({1})}}); }, "is not valid UTF-8");
  expect_error(
      [] {
        encode_safetensors(Tree{{"a", nx::zeros({1})}}, {{"k", "\xC0\x80"}});
      },
      "is not valid UTF-8");
  expect_error(
      [] {
        encode_safetensors(Tree{{"t", nx::make_template({1}, nx::f32)}});
      },
      "is a template");
  expect_error([] { nx::io::load_safetensors("/nonexistent_dir_nx/m.safetensors"); },
               "cannot open");
}

void expect_bad(const std::vector<uint8_t>& b, const std::string& fragment) {
  expect_error([&] { decode_safetensors(b); }, fragment);
}
void expect_bad_header(const std::string& header, size_t data_bytes, const std::string& fragment) {
  expect_bad(file_of(header, std::vector<uint8_t>(data_bytes, 0)), fragment);
}

TEST(IoSafetensors, RejectsMalformedFiles) {
  const std::string t8 = "\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
  ASSERT_EQ(decode_safetensors(file_of("{" + t8 + "}", std::vector<uint8_t>(8))).tensors.size(),
            1u);
  expect_bad({1, 2, 3}, "too short for the 8-byte header size");
  expect_bad({0x10, 0, 0, 0, 0, 0, 0, 0, '{', '}'}, "the header claims 16 bytes but only 2 follow");
  expect_bad({0, 0xE2, 0xF5, 0x05, 0, 0, 0, 0}, "over the format's limit");  // 100000256
  expect_bad({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, "over the format's limit");
  expect_bad_header(" {}", 0, "must start with '{'");
  expect_bad_header("", 0, "must start with '{'");
  // JSON syntax
  expect_bad_header("{" + t8 + ",}", 8, "bad JSON");
  expect_bad_header("{" + t8 + "} x", 8, "unexpected text after the JSON value");
  expect_bad_header("{" + t8 + "", 8, "bad JSON");
  expect_bad_header("{" + t8 + "," + t8 + "}", 8, "the key \"t\" repeats");
  expect_bad_header("{\"t\":{\"dtype\":\"F32\",\"shape\":[02],\"data_offsets\":[0,8]}}", 8,
                    "leading zero");
  expect_bad_header("{\"t\":{\"dtype\":\"F\x01\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
                    "raw control character");
  expect_bad_header("{\"t\xFF\":{}}", 0, "invalid UTF-8");
  expect_bad_header("{\"\\ud800\":{}}", 0, "high surrogate without a low surrogate");
  expect_bad_header("{\"\\udc00\":{}}", 0, "lone low surrogate");
  expect_bad_header("{\"\\q\":{}}", 0, "bad escape");
  expect_bad_header("{\"a\":" + std::string(100, '[') + std::string(100, ']') + "}", 0,
                    "nesting deeper than 64");
  // Entries
  expect_bad_header("{\"t\":[1]}", 0, "tensor \"t\" must be an object, got an array");
  expect_bad_header("{\"t\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8,
                    "needs \"dtype\", \"shape\" and \"data_offsets\"");
  expect_bad_header("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", 8,
                    "unknown field \"x\"");
  expect_bad_header("{\"t\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2,
                    "unsupported dtype \"F8_E4M3\"");
  expect_bad_header("{\"t\":{\"dtype\":3,\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
                    "\"dtype\" must be a string");
  expect_bad_header("{\"t\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8,
                    "non-negative integer, got -2");
  expect_bad_header("{\"t\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8,
                    "non-negative integer, got 2.0");
  expect_bad_header(
      "{\"t\":{\"dtype\":\"F32\",\"shape\":[18446744073709551616],\"data_offsets\":[0,8]}}", 8,
      "does not fit in 64 bits");
  expect_bad_header(
      "{\"t\":{\"dtype\":\"F32\",\"shape\":[9223372036854775808],\"data_offsets\":[0,8]}}", 8,
      "does not fit in 63 bits");
  expect_bad_header(
      "{\"t\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", 8,
      "more elements than fit in 64 bits");
  expect_bad_header("{\"t\":{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]}}", 8,
                    "\"shape\" must be an array");
  expect_bad_header("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8,
                    "must be an array [begin, end]");
  expect_bad_header("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8,
                    "end before they begin");
  expect_bad_header("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
                    "is f32[3] (12 bytes) but its data_offsets span 8 bytes");
  expect_bad_header("{\"__metadata__\":{\"k\":1}}", 0,
                    "\"__metadata__\" value \"k\" must be a string");
  expect_bad_header("{\"__metadata__\":[]}", 0, "\"__metadata__\" must be an object");
  // Coverage of the data buffer: holes, overlaps, out of range, leftovers.
  const std::string u = "{\"dtype\":\"U8\",\"shape\":[2],";
  expect_bad_header("{\"a\":" + u + "\"data_offsets\":[2,4]}}", 4,
                    "starts at 2 but the previous data ends at 0 (hole)");
  expect_bad_header(
      "{\"a\":" + u + "\"data_offsets\":[0,2]},\"b\":" + u + "\"data_offsets\":[1,3]}}", 3,
      "starts at 1 but the previous data ends at 2 (overlap)");
  expect_bad_header(
      "{\"a\":" + u + "\"data_offsets\":[0,2]},\"b\":" + u + "\"data_offsets\":[0,2]}}", 2,
      "(overlap)");
  expect_bad_header("{\"a\":" + u + "\"data_offsets\":[0,2]}}", 1,
                    "cover 2 bytes but the data buffer has 1");
  expect_bad_header("{\"a\":" + u + "\"data_offsets\":[0,2]}}", 3,
                    "cover 2 bytes but the data buffer has 3");
  expect_bad_header("{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[5,5]}}", 0,
                    "starts at 5");
}

TEST(IoSafetensors, RejectsEveryTruncationAndSurvivesBitFlips) {
  Tree t{{"w", expected_values(nx::f32, 3, {3})}, {"b", expected_values(nx::s8, 2, {2})}};
  expect_prefixes_rejected(encode_safetensors(t, {{"k", "v"}}),
                           [](std::span<const uint8_t> b) { decode_safetensors(b); });
}

}  // namespace
