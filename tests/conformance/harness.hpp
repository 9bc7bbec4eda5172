// The op conformance harness: adapters from table rows to nx calls, and the helpers they share.
//
// Each row of tests/conformance/cases.py names a public op and JSON attributes; an adapter turns
// the loaded input tensors and those attributes into one call of the op's C++ API and returns
// its outputs. Adapters register themselves by op name (one file per op group); the harness in
// conformance_test.cpp runs every case of the manifest through them.
//
// Reserved attribute: "_dtype", the dtype of the case variant, which the harness adds so that
// ops without tensor inputs (constants, creation) know what to make.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nx/nx.hpp"

namespace nx::conformance {

using Json = nlohmann::json;
/// Runs one op: inputs in manifest order, the case's attrs; returns the op's outputs in order.
using Adapter = std::function<std::vector<Tensor>(const std::vector<Tensor>& in, const Json& at)>;

/// The adapters by op name (the C++ function name, e.g. "add", "conv", "prim:threefry2x32").
std::map<std::string, Adapter>& adapters();

/// Registers adapters at static-initialisation time: `const bool kReg = register_adapters({...});`
bool register_adapters(std::initializer_list<std::pair<const char*, Adapter>> entries);

// ---- attribute readers (throw std::runtime_error naming the key when it is missing) -----------

/// The variant's dtype (the reserved "_dtype" attribute).
DType case_dtype(const Json& at);
/// at[key] as an integer, or `fallback` when absent.
int64_t int_attr(const Json& at, const char* key, std::optional<int64_t> fallback = {});
/// at[key] as a double, or `fallback` when absent.
double double_attr(const Json& at, const char* key, std::optional<double> fallback = {});
/// at[key] as a bool (false when absent).
bool bool_attr(const Json& at, const char* key);
/// at[key] as a list of integers, or `fallback` when absent.
std::vector<int64_t> ints_attr(const Json& at, const char* key,
                               std::optional<std::vector<int64_t>> fallback = {});
/// at[key] as a list of integers, or nullopt when absent.
std::optional<std::vector<int64_t>> opt_ints_attr(const Json& at, const char* key);
/// at[key] as a dtype name ("f32", "pred", ...).
DType dtype_attr(const Json& at, const char* key);
/// at["padding"]: "valid" (also when absent), "same", or [[lo, hi], ...].
Padding padding_attr(const Json& at);

/// A weakly typed C++ number from a JSON number: integers become int/int64_t, others double.
Tensor weak_scalar(const Json& value);

/// A case name as a gtest name: operator characters spelled out, others not alnum to '_'.
std::string test_name_of(const std::string& case_name);

/// Wraps a one-output call.
inline std::vector<Tensor> one(Tensor t) {
  return {std::move(t)};
}

}  // namespace nx::conformance
