// IDX and CSV readers against files written by NumPy (gen_data.py).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "axon/data/readers.hpp"
#include "data_test_helpers.hpp"
#include "nx/ops/creation.hpp"

namespace {

using axon::data::CsvOptions;
using data_test::data_dir;
using data_test::expect_error;
using data_test::expect_identical;
using data_test::expected;

class DataIdxDtypes : public ::testing::TestWithParam<std::string> {};

TEST_P(DataIdxDtypes, PlainAndGzippedMatchNumpy) {
  const std::string name = GetParam();
  expect_identical(axon::data::read_idx(data_dir() / (name + ".idx")), expected(name));
  expect_identical(axon::data::read_idx(data_dir() / (name + ".idx.gz")), expected(name));
}

TEST_P(DataIdxDtypes, EncodeIsByteIdenticalToNumpyFile) {
  const std::string name = GetParam();
  std::vector<uint8_t> file = axon::data::read_maybe_gzipped(data_dir() / (name + ".idx"));
  EXPECT_EQ(axon::data::encode_idx(expected(name)), file);
  expect_identical(axon::data::decode_idx(file), expected(name));
}

INSTANTIATE_TEST_SUITE_P(DataIdx, DataIdxDtypes,
                         ::testing::Values("u8", "s8", "s16", "s32", "f32", "f64"),
                         [](const auto& info) { return info.param; });

TEST(DataIdx, ScalarEmptyAndTwoGzipMembers) {
  expect_identical(axon::data::read_idx(data_dir() / "scalar.idx"), expected("scalar"));
  expect_identical(axon::data::read_idx(data_dir() / "empty.idx"), expected("empty"));
  expect_identical(axon::data::read_idx(data_dir() / "s32_two_members.idx.gz"), expected("s32"));
}

TEST(DataIdx, GzipBufferGrowsPastAWrongSizeHint) {
  nx::Tensor t = axon::data::read_idx(data_dir() / "u8_big_two_members.idx.gz");
  ASSERT_EQ(nx::type_string(t.type()), "u8[400][500]");
  const uint8_t* p = t.data<uint8_t>();
  for (int64_t i = 0; i < t.size(); ++i) ASSERT_EQ(p[i], i % 251) << i;
}

TEST(DataIdx, WriteThenReadRoundTrips) {
  auto path = std::filesystem::temp_directory_path() / "axon_data_roundtrip.idx";
  nx::Tensor t = nx::tensor({{1.5, -2.0}, {3.25, 1e300}}, nx::f64);
  axon::data::write_idx(path, t);
  expect_identical(axon::data::read_idx(path), t);
  std::filesystem::remove(path);
}

TEST(DataIdx, MalformedFilesThrowNamingFileAndProblem) {
  auto err = [](const std::string& file, std::initializer_list<std::string> parts) {
    std::vector<std::string> all(parts);
    all.push_back("axon::data::read_idx");
    all.push_back(file);
    try {
      axon::data::read_idx(data_dir() / file);
      ADD_FAILURE() << file << ": expected nx::Error";
    } catch (const nx::Error& e) {
      for (const auto& p : all) {
        EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what() << " / " << p;
      }
    }
  };
  err("bad_magic.idx", {"bad IDX magic number 01 00 08 03"});
  err("bad_type.idx", {"unknown IDX type code 0x0a"});
  err("truncated_data.idx", {"truncated IDX data", "needs 60 data bytes, the file has 59"});
  err("truncated_header.idx", {"truncated IDX header", "3 dimensions need 16 bytes"});
  err("oversized.idx", {"oversized IDX data", "the file has 61"});
  err("huge_dims.idx", {"is too large", "overflows 64 bits"});
  err("tiny.idx", {"truncated IDX header", "has 2 bytes"});
  err("truncated.idx.gz", {"truncated gzip data"});
  err("corrupt.idx.gz", {"corrupt gzip data"});
  err("trailing_garbage.idx.gz", {"unexpected bytes after the end of the gzip stream"});
  err("no_such_file.idx", {"cannot open"});
}

TEST(DataIdx, EncodeRejectsUnsupportedDtypes) {
  expect_error(
      [] {
        axon::data::encode_idx(nx::tensor({1, 2}, nx::u16));
      },
      {"axon::data::encode_idx", "u16"});
}

TEST(DataCsv, HeaderDelimiterQuotesSpacesCrlfAndGzip) {
  CsvOptions opts{.header = true, .delimiter = ';', .dtype = nx::f64};
  expect_identical(axon::data::read_csv(data_dir() / "table.csv", opts), expected("table"));
  expect_identical(axon::data::read_csv(data_dir() / "table.csv.gz", opts), expected("table"));
  nx::Tensor f32 =
      axon::data::read_csv(data_dir() / "table.csv", {.header = true, .delimiter = ';'});
  EXPECT_EQ(f32.dtype(), nx::f32);
  std::vector<double> want = expected("table").to_vector<double>();
  std::vector<float> got = f32.to_vector<float>();
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[i], static_cast<float>(want[i]));
}

TEST(DataCsv, ColumnsSelectAndReorder) {
  nx::Tensor t =
      axon::data::read_csv(data_dir() / "table.csv",
                           {.header = true, .delimiter = ';', .columns = {3, 0}, .dtype = nx::f64});
  ASSERT_EQ(t.shape(), (nx::Shape{6, 2}));
  std::vector<double> all = expected("table").to_vector<double>(), got = t.to_vector<double>();
  for (size_t r = 0; r < 6; ++r) {
    EXPECT_EQ(got[2 * r], all[4 * r + 3]);
    EXPECT_EQ(got[2 * r + 1], all[4 * r]);
  }
}

TEST(DataCsv, IntegerDtypes) {
  expect_identical(axon::data::read_csv(data_dir() / "ints.csv", {.dtype = nx::s64}),
                   expected("ints"));
  nx::Tensor s16 = axon::data::read_csv(data_dir() / "ints.csv", {.dtype = nx::s16});
  EXPECT_EQ(s16.dtype(), nx::s16);
  EXPECT_EQ(s16.to_vector<int64_t>(), expected("ints").to_vector<int64_t>());
  nx::Tensor u64 = axon::data::parse_csv("18446744073709551615,0\n1,2", {.dtype = nx::u64});
  EXPECT_EQ(u64.to_vector<uint64_t>(),
            (std::vector<uint64_t>{std::numeric_limits<uint64_t>::max(), 0, 1, 2}));
}

TEST(DataCsv, SpecialValuesTabsAndEmptyInput) {
  nx::Tensor t = axon::data::parse_csv("nan\t+inf\t-1e-3\n\n1\t2\t3\n", {.delimiter = '\t'});
  ASSERT_EQ(t.shape(), (nx::Shape{2, 3}));
  std::vector<float> v = t.to_vector<float>();
  EXPECT_TRUE(std::isnan(v[0]));
  EXPECT_EQ(v[1], std::numeric_limits<float>::infinity());
  EXPECT_FLOAT_EQ(v[2], -1e-3f);
  EXPECT_EQ(axon::data::parse_csv("").shape(), (nx::Shape{0, 0}));
  EXPECT_EQ(axon::data::parse_csv("x,y\n", {.header = true, .columns = {1}}).shape(),
            (nx::Shape{0, 1}));
}

TEST(DataCsv, ErrorsNameLineAndColumn) {
  expect_error(
      [] { axon::data::parse_csv("1,2\n3,abc\n", {}, "t.csv"); },
      {"axon::data::read_csv(\"t.csv\")", "line 2, column 2", "expected a number", "\"abc\""});
  expect_error([] { axon::data::parse_csv("h\n1,2\n3\n", {.header = true}); },
               {"line 3", "expected 2 fields (as on line 2), got 1"});
  expect_error([] { axon::data::parse_csv("1,,2"); }, {"line 1, column 2", "empty field"});
  expect_error([] { axon::data::parse_csv("1,2.5", {.dtype = nx::s32}); },
               {"line 1, column 2", "expected an integer for dtype s32"});
  expect_error([] { axon::data::parse_csv("1,300", {.dtype = nx::u8}); },
               {"column 2", "out of the range of u8"});
  expect_error([] { axon::data::parse_csv("1,2", {.columns = {2}}); },
               {"column index 2", "outside the 2 fields"});
  expect_error([] { axon::data::parse_csv("1", {.dtype = nx::pred}); },
               {"expected a numeric dtype"});
  expect_error([] { axon::data::read_csv(data_dir() / "missing.csv"); },
               {"axon::data::read_csv", "missing.csv", "cannot open"});
}

}  // namespace
