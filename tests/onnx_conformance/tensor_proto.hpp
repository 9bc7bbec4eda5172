// Reading ONNX TensorProto files (the backend tests' input_<j>.pb / output_<j>.pb) into
// nx tensors, and comparing results with ONNX's backend-test tolerance.
#pragma once

#include <filesystem>
#include <string>

#include <onnx/onnx_pb.h>

#include "nx/tensor.hpp"

namespace onnx_conformance {

/// The proto in `path` (throws std::runtime_error when it does not parse).
::onnx::TensorProto read_tensor_proto(const std::filesystem::path& path);

/// An nx tensor with the proto's shape, dtype and values (raw_data or the typed fields).
/// Throws std::runtime_error for a dtype nx lacks (string, complex), naming it.
nx::Tensor to_tensor(const ::onnx::TensorProto& proto);

/// The ONNX name of a TensorProto data type ("FLOAT", "STRING", ...).
std::string onnx_dtype_name(int data_type);

/// "" when `actual` matches `expected` as onnx.backend.test checks it: same dtype and shape;
/// floats within |a - e| <= atol + rtol * |e| (NaN equals NaN; rtol 1e-3, atol 1e-7); other
/// dtypes exactly; bfloat16 within one ulp (rtol 2^-7: onnx 1.12 truncates to bfloat16). Otherwise
/// what differs ("shape [2,3] expected [3,2]", "max abs error ...").
std::string compare(const nx::Tensor& actual, const nx::Tensor& expected, double rtol = 1e-3,
                    double atol = 1e-7);

}  // namespace onnx_conformance
