// Shared helpers of the ONNX tensor family (ops_tensor*.cpp only).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "axon/onnx/ops.hpp"
#include "nx/tensor.hpp"

namespace axon::onnx_import::tensor_ops {

/// Registration of each file of the family.
void register_shape_ops();       ///< ops_tensor_shape.cpp
void register_movement_ops();    ///< ops_tensor_movement.cpp
void register_index_ops();       ///< ops_tensor_index.cpp
void register_resize_ops();      ///< ops_tensor_resize.cpp
void register_einsum_ops();      ///< ops_tensor_einsum.cpp
void register_gridsample_ops();  ///< ops_tensor_gridsample.cpp

/// An axis in [-rank, rank) made non-negative; fails naming the node otherwise.
int64_t norm_axis(const OpCall& call, int64_t axis, int64_t rank);
/// Integer indices with negative entries counted from the end of an axis of size `dim`.
nx::Tensor wrap_indices(const nx::Tensor& idx, int64_t dim);
/// The single value of concrete input i (a scalar or a one-element tensor); fails otherwise.
double one_value(const OpCall& call, size_t i, const std::string& what);
/// Fails unless a result of shape `dims` is a sane size (no overflow, at most 2^34 elements):
/// shapes read from a model file must not make the importer allocate without bound.
void check_result_size(const OpCall& call, const std::vector<int64_t>& dims);
/// Product of dims.
int64_t prod(const std::vector<int64_t>& dims, size_t from = 0, size_t to = SIZE_MAX);
/// "[2, 3]".
std::string dims_str(const std::vector<int64_t>& dims);
/// Whether a tensor's values are known now (not traced, not a template).
bool is_concrete(const nx::Tensor& t);

}  // namespace axon::onnx_import::tensor_ops
