// Helpers shared by tests of shape rules and error messages.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "nx/core/dispatch.hpp"

namespace nx::testing {

/// Expects `f` to throw nx::Error whose message contains every string of `parts`.
template <class F>
void expect_error(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "expected nx::Error";
  } catch (const Error& e) {
    std::string msg = e.what();
    for (const std::string& p : parts) {
      EXPECT_NE(msg.find(p), std::string::npos) << "\"" << msg << "\" lacks \"" << p << "\"";
    }
  }
}

/// The output types primitive `p`'s shape rule gives for `in` (throws as the rule does).
inline std::vector<TensorType> rule_types(detail::Prim p, std::initializer_list<Tensor> in,
                                          const detail::Params& params) {
  std::vector<Tensor> v(in);
  return detail::info(p).rule(static_cast<int>(p), v, params);
}

}  // namespace nx::testing
