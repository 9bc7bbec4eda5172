// Shared helpers of the axon::data tests.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "nx/io.hpp"
#include "nx/tensor.hpp"

namespace data_test {

/// tests/axon/data/data: the fixtures written by gen_data.py.
inline std::filesystem::path data_dir() {
  return std::filesystem::path(__FILE__).parent_path() / "data";
}

/// The array `name` of expected.npz.
inline nx::Tensor expected(const std::string& name) {
  static const nx::Tree all = nx::io::load_npz(data_dir() / "expected.npz");
  return all[name].leaf();
}

/// Same dtype, same shape, same bytes.
inline void expect_identical(const nx::Tensor& got, const nx::Tensor& want) {
  ASSERT_EQ(nx::type_string(got.type()), nx::type_string(want.type()));
  ASSERT_EQ(std::memcmp(got.raw_data(), want.raw_data(), static_cast<size_t>(got.byte_size())), 0);
}

/// Runs `f`, expecting nx::Error whose message contains every one of `parts`.
template <class F>
void expect_error(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
    ADD_FAILURE() << "expected nx::Error";
  } catch (const nx::Error& e) {
    std::string msg = e.what();
    for (const std::string& p : parts) {
      EXPECT_NE(msg.find(p), std::string::npos)
          << "message \"" << msg << "\" lacks \"" << p << "\"";
    }
  }
}

}  // namespace data_test
