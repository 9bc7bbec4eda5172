// ONNX converters of the math family: registration. Elementwise, logic and comparison ops live
// in ops_math_elementwise.cpp, Cast in ops_math_cast.cpp, activations in
// ops_math_activation.cpp, reductions, ArgMax/ArgMin and CumSum in ops_math_reduce.cpp, Det in
// ops_math_det.cpp.
#include "axon/onnx/ops.hpp"
#include "ops_math_internal.hpp"

namespace axon::onnx_import {

void register_math_ops() {
  math::register_elementwise_ops();
  math::register_cast_ops();
  math::register_activation_ops();
  math::register_reduce_ops();
  math::register_det_op();
}

}  // namespace axon::onnx_import
