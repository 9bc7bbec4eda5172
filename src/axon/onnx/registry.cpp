// The ONNX operator table: a map from op type to converter, filled once, on first use, by the
// families' registration functions (explicit calls: see ops.hpp).
#include <algorithm>
#include <map>
#include <mutex>

#include "axon/onnx/ops.hpp"
#include "nx/error.hpp"

namespace axon::onnx_import {
namespace {

std::map<std::string, OpEntry>& table() {
  static std::map<std::string, OpEntry> ops;
  return ops;
}

// True while the families register (register_op is only legal then, or after).
void ensure_registered() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_math_ops();
    register_tensor_ops();
    register_nn_ops();
    register_control_ops();
    register_signal_ops();
    register_quant_ops();
  });
}

}  // namespace

void register_op(OpEntry entry) {
  if (entry.op_type.empty() || !entry.convert) {
    throw nx::Error("axon::onnx: register_op needs an op type and a converter");
  }
  std::string key = entry.op_type;
  table().insert_or_assign(std::move(key), std::move(entry));
}

const OpEntry* find_op(const std::string& op_type) {
  ensure_registered();
  auto it = table().find(op_type);
  return it == table().end() ? nullptr : &it->second;
}

std::vector<std::string> supported_ops() {
  ensure_registered();
  std::vector<std::string> names;
  names.reserve(table().size());
  for (const auto& [name, entry] : table()) names.push_back(name);
  return names;
}

}  // namespace axon::onnx_import
