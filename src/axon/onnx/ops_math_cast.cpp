// ONNX Cast and CastLike. nx::as_type does the conversion: floats to integers truncate toward
// zero (saturating where C leaves it undefined), anything to bool is x != 0, floats narrow with
// round-to-nearest-even. ONNX's string, complex and float8 types have no nx counterpart.
#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "ops_math_internal.hpp"

namespace axon::onnx_import::math {
namespace {

using nx::Tensor;

std::string onnx_type_name(int64_t to) {
  if (::onnx::TensorProto_DataType_IsValid(static_cast<int>(to))) {
    return ::onnx::TensorProto_DataType_Name(static_cast<::onnx::TensorProto_DataType>(to));
  }
  return "data type " + std::to_string(to);
}

nx::DType cast_target(const OpCall& call, int64_t to) {
  switch (to) {
    case ::onnx::TensorProto::FLOAT:
      return nx::f32;
    case ::onnx::TensorProto::DOUBLE:
      return nx::f64;
    case ::onnx::TensorProto::FLOAT16:
      return nx::f16;
    case ::onnx::TensorProto::BFLOAT16:
      return nx::bf16;
    case ::onnx::TensorProto::UINT8:
      return nx::u8;
    case ::onnx::TensorProto::UINT16:
      return nx::u16;
    case ::onnx::TensorProto::UINT32:
      return nx::u32;
    case ::onnx::TensorProto::UINT64:
      return nx::u64;
    case ::onnx::TensorProto::INT8:
      return nx::s8;
    case ::onnx::TensorProto::INT16:
      return nx::s16;
    case ::onnx::TensorProto::INT32:
      return nx::s32;
    case ::onnx::TensorProto::INT64:
      return nx::s64;
    case ::onnx::TensorProto::BOOL:
      return nx::pred;
    default:
      break;
  }
  if (!call.has_attr("to")) call.fail("attribute 'to' is required");
  call.fail("casting to " + onnx_type_name(to) +
            " is not supported (nx tensors hold numbers and bools only: no strings, complex "
            "numbers or float8)");
}

std::vector<Tensor> cast_op(const OpCall& call) {
  const nx::DType to = cast_target(call, call.attr_int("to", 0));
  // `saturate` (opset 19) only concerns float8 targets, which are rejected above.
  return {keep_type(call.input(0), to)};
}

std::vector<Tensor> cast_like_op(const OpCall& call) {
  return {keep_type(call.input(0), call.input(1).dtype())};
}

}  // namespace

void register_cast_ops() {
  register_op({"Cast", cast_op, 6});
  register_op({"CastLike", cast_like_op, 15});
}

}  // namespace axon::onnx_import::math
