// Helpers shared by the nx::io tests.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "nx/core/visit_dtype.hpp"  // private: src/ is on the test include path
#include "nx/io.hpp"
#include "nx/ops/creation.hpp"

namespace nx_io_test {

namespace fs = std::filesystem;
using nx::Tensor;

/// tests/nx/io: the committed scripts and data live next to this file.
inline fs::path here() {
  return fs::path(__FILE__).parent_path();
}
inline fs::path data_dir() {
  return here() / "data";
}

inline std::vector<uint8_t> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

inline void write_bytes(const fs::path& p, const std::vector<uint8_t>& b) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

/// A fresh empty directory under the system temp dir.
inline fs::path temp_dir(const std::string& name) {
  fs::path d =
      fs::temp_directory_path() / ("nx_io_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

/// True when Debian's python3 with numpy can run the verification scripts.
inline bool numpy_available() {
  return fs::exists("/usr/bin/python3") &&
         std::system("/usr/bin/python3 -c 'import numpy' > /dev/null 2>&1") == 0;
}

/// The pattern gen_npy_data.py writes for n elements of a dtype (its value_of):
/// bool i % 3 == 0, unsigned 3i + 1, signed 3i - 5, float 0.5i - 1.25.
inline Tensor expected_values(nx::DType dtype, int64_t n, nx::Shape shape) {
  auto value = [&](int64_t i) {
    if (dtype == nx::pred) return i % 3 == 0 ? 1.0 : 0.0;
    if (nx::is_unsigned_int(dtype)) return 3.0 * static_cast<double>(i) + 1;
    if (nx::is_signed_int(dtype)) return 3.0 * static_cast<double>(i) - 5;
    return 0.5 * static_cast<double>(i) - 1.25;
  };
  return nx::detail::visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, bool>) {
      std::vector<bool> v;
      for (int64_t i = 0; i < n; ++i) v.push_back(value(i) != 0);
      return nx::from_vector(v, shape);
    } else {
      std::vector<T> v;
      for (int64_t i = 0; i < n; ++i) {
        if constexpr (nx::detail::is_half_v<T>)
          v.push_back(T(static_cast<float>(value(i))));
        else
          v.push_back(static_cast<T>(value(i)));
      }
      return nx::from_vector(v, shape);
    }
  });
}

/// Same dtype, shape and bytes.
inline void expect_same(const Tensor& got, const Tensor& want, const std::string& what = "") {
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  ASSERT_EQ(got.shape(), want.shape()) << what;
  ASSERT_EQ(std::memcmp(got.raw_data(), want.raw_data(), static_cast<size_t>(want.byte_size())), 0)
      << what << ": got " << got << " want " << want;
}

/// Runs f, expecting nx::Error whose message contains `fragment`.
inline void expect_error(const std::function<void()>& f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "expected nx::Error containing \"" << fragment << "\"";
  } catch (const nx::Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
        << "message: " << e.what() << "\nwanted: " << fragment;
  }
}

/// Every prefix of `bytes` shorter than the whole must be rejected with nx::Error, and so must
/// the bytes with any single byte flipped, unless `decode` accepts them (mutations of tensor data
/// are legitimately accepted); nothing may crash.
inline void expect_prefixes_rejected(const std::vector<uint8_t>& bytes,
                                     const std::function<void(std::span<const uint8_t>)>& decode) {
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_THROW(decode(cut), nx::Error) << "prefix of " << n << " bytes was accepted";
  }
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (uint8_t flip : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xFF}}) {
      std::vector<uint8_t> m = bytes;
      m[i] ^= flip;
      try {
        decode(m);
      } catch (const nx::Error&) {
      }
    }
  }
}

/// The nx dtypes NumPy has, with the file stems gen_npy_data.py uses.
struct NamedDType {
  const char* stem;
  nx::DType dtype;
};
inline const std::vector<NamedDType>& numpy_dtypes() {
  static const std::vector<NamedDType> v = {{"bool", nx::pred}, {"u8", nx::u8},   {"u16", nx::u16},
                                            {"u32", nx::u32},   {"u64", nx::u64}, {"i8", nx::s8},
                                            {"i16", nx::s16},   {"i32", nx::s32}, {"i64", nx::s64},
                                            {"f16", nx::f16},   {"f32", nx::f32}, {"f64", nx::f64}};
  return v;
}

}  // namespace nx_io_test
