// The zip layer under .npz: zip64 structures written with lowered limits (as Python's zipfile
// can be made to) read back by our reader and by Python's zipfile/numpy.
#include "nx/io/zip.hpp"  // private: src/ is on the test include path
#include "io_test_util.hpp"

namespace {

using namespace nx_io_test;
namespace d = nx::io::detail;

std::vector<uint8_t> zip64_archive() {
  std::vector<uint8_t> out;
  d::VectorWriter w(out);
  d::ZipWriter zip(w, "test", {.size = 16, .count = 1});
  std::vector<uint8_t> a = nx::io::encode_npy(expected_values(nx::f32, 6, {2, 3}));
  std::vector<uint8_t> b = nx::io::encode_npy(expected_values(nx::s64, 5, {5}));
  const std::span<const uint8_t> pa[] = {a}, pb[] = {b};
  zip.add("a.npy", pa, false);
  zip.add("b.npy", pb, true);
  zip.finish();
  return out;
}

TEST(IoZip, Zip64StructuresRoundTrip) {
  std::vector<uint8_t> z = zip64_archive();
  // The zip64 end record and locator are present ("PK\6\6", "PK\6\7").
  auto has = [&](uint32_t sig) {
    for (size_t i = 0; i + 4 <= z.size(); ++i) {
      if ((z[i] | z[i + 1] << 8 | z[i + 2] << 16 | static_cast<uint32_t>(z[i + 3]) << 24) == sig)
        return true;
    }
    return false;
  };
  EXPECT_TRUE(has(0x06064b50));
  EXPECT_TRUE(has(0x07064b50));
  d::MemoryBytes src(z);
  std::vector<d::ZipEntry> entries = d::read_zip_directory(src, "test");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].name, "a.npy");
  EXPECT_EQ(entries[0].method, 0);
  EXPECT_EQ(entries[1].method, 8);
  nx::Tree t = nx::io::decode_npz(z);
  expect_same(t["a"].leaf(), expected_values(nx::f32, 6, {2, 3}));
  expect_same(t["b"].leaf(), expected_values(nx::s64, 5, {5}));
  expect_prefixes_rejected(z, [](std::span<const uint8_t> b) { nx::io::decode_npz(b); });
}

TEST(IoZip, PythonReadsOurZip64) {
  if (!numpy_available()) GTEST_SKIP() << "/usr/bin/python3 with numpy is not available";
  fs::path dir = temp_dir("zip64");
  write_bytes(dir / "zip64.npz", zip64_archive());
  std::string cmd = "/usr/bin/python3 " + (here() / "verify_npy_data.py").string() + " --zip64 " +
                    (dir / "zip64.npz").string();
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  fs::remove_all(dir);
}

}  // namespace
