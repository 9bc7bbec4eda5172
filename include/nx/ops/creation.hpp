// Making tensors: from C++ values, constant fills, ranges and identity matrices.
#pragma once

#include <initializer_list>
#include <optional>
#include <vector>

#include "nx/tensor.hpp"

namespace nx {

/// A tensor with a copy of `count` elements of `dtype` from `data` (row-major).
Tensor from_data(const void* data, const Shape& shape, DType dtype);

/// A tensor holding `values` with the given shape (default: 1-D). The dtype is T's.
template <class T>
Tensor from_vector(const std::vector<T>& values, std::optional<Shape> shape = {});
/// std::vector<bool> has no contiguous storage; it becomes a pred tensor.
Tensor from_vector(const std::vector<bool>& values, std::optional<Shape> shape = {});

/// A scalar of an explicit dtype (not weakly typed): `nx::scalar(1, nx::u8)`.
Tensor scalar(double value, DType dtype);
/// An integer scalar of an explicit dtype, exact for every 64-bit value.
Tensor scalar_int(int64_t value, DType dtype);

/// Nested lists, as Nx.tensor: `nx::tensor({{1.0, 2.0}, {3.0, 4.0}})` is f32[2][2],
/// `nx::tensor({1, 2, 3})` is s32[3]. Rows must all have one length. Pass a dtype to convert.
template <class T>
Tensor tensor(std::initializer_list<T> v, std::optional<DType> dtype = {});
template <class T>
Tensor tensor(std::initializer_list<std::initializer_list<T>> v, std::optional<DType> dtype = {});
template <class T>
Tensor tensor(std::initializer_list<std::initializer_list<std::initializer_list<T>>> v,
              std::optional<DType> dtype = {});
template <class T>
Tensor tensor(
    std::initializer_list<std::initializer_list<std::initializer_list<std::initializer_list<T>>>> v,
    std::optional<DType> dtype = {});

/// A tensor of `shape` with every element `value`.
Tensor full(const Shape& shape, double value, DType dtype = f32);
/// Zeros of the given shape and dtype.
Tensor zeros(const Shape& shape, DType dtype = f32);
/// Ones of the given shape and dtype.
Tensor ones(const Shape& shape, DType dtype = f32);
/// `value` in the shape and dtype of t.
Tensor full_like(const Tensor& t, double value);
/// Zeros in the shape and dtype of t.
Tensor zeros_like(const Tensor& t);
/// Ones in the shape and dtype of t.
Tensor ones_like(const Tensor& t);

/// Counts 0, 1, 2, ... over all elements in row-major order (Nx.iota without :axis).
Tensor iota(const Shape& shape, DType dtype = s32);
/// Counts along one axis, constant along the others (Nx.iota with :axis).
Tensor iota(const Shape& shape, int64_t axis, DType dtype = s32);
/// The n x n identity matrix.
Tensor eye(int64_t n, DType dtype = s32);
/// Ones on the diagonal of the last two axes of `shape`, zeros elsewhere (Nx.eye with a shape).
Tensor eye(const Shape& shape, DType dtype = s32);
/// `n` evenly spaced values from start to stop (stop included unless endpoint is false);
/// integer dtypes take the floor of each value.
Tensor linspace(double start, double stop, int64_t n, bool endpoint = true, DType dtype = f32);
/// start, start+step, ... below stop (numpy's arange; ONNX Range).
Tensor arange(double start, double stop, double step = 1.0, DType dtype = f32);

/// A template: shape and dtype with no data (Nx.template). Ops reject it; trees and
/// compilation use it to describe inputs.
Tensor make_template(const Shape& shape, DType dtype);

// ---- implementation of the templates above ------------------------------------------------------
namespace detail {
template <class T>
void flatten_into(std::initializer_list<T> v, std::vector<T>& out, Shape& shape, size_t depth) {
  if (shape.size() <= depth)
    shape.push_back(static_cast<int64_t>(v.size()));
  else if (shape[depth] != static_cast<int64_t>(v.size()))
    throw Error("nx::tensor: ragged nested list: rows of length " + std::to_string(shape[depth]) +
                " and " + std::to_string(v.size()) + " at depth " + std::to_string(depth));
  for (const T& x : v) out.push_back(x);
}
template <class T, class L>
void flatten_into(std::initializer_list<L> v, std::vector<T>& out, Shape& shape, size_t depth) {
  if (shape.size() <= depth)
    shape.push_back(static_cast<int64_t>(v.size()));
  else if (shape[depth] != static_cast<int64_t>(v.size()))
    throw Error("nx::tensor: ragged nested list: rows of length " + std::to_string(shape[depth]) +
                " and " + std::to_string(v.size()) + " at depth " + std::to_string(depth));
  for (const L& x : v) flatten_into<T>(x, out, shape, depth + 1);
}
Tensor as_type_for_creation(const Tensor& t, DType dtype);
template <class T, class L>
Tensor tensor_from_nested(const L& v, std::optional<DType> dtype) {
  std::vector<T> flat;
  Shape shape;
  flatten_into<T>(v, flat, shape, 0);
  // A C++ int literal list is s32, a double literal list f32 (as Nx's defaults).
  Tensor t;
  if constexpr (std::is_same_v<T, double>) {
    std::vector<float> f(flat.begin(), flat.end());
    t = from_vector(f, shape);
    if (dtype && *dtype == DType::F64) t = from_vector(flat, shape);
  } else if constexpr (std::is_same_v<T, bool>) {
    t = from_vector(std::vector<bool>(flat.begin(), flat.end()), shape);
  } else {
    t = from_vector(flat, shape);
  }
  return dtype ? as_type_for_creation(t, *dtype) : t;
}
}  // namespace detail

template <class T>
Tensor from_vector(const std::vector<T>& values, std::optional<Shape> shape) {
  Shape s = shape ? *shape : Shape{static_cast<int64_t>(values.size())};
  if (num_elements(s) != static_cast<int64_t>(values.size())) {
    throw Error("nx::from_vector: " + std::to_string(values.size()) + " values do not fill shape " +
                shape_repr(s));
  }
  return from_data(values.data(), s, dtype_of<T>());
}

template <class T>
Tensor tensor(std::initializer_list<T> v, std::optional<DType> dtype) {
  return detail::tensor_from_nested<T>(v, dtype);
}
template <class T>
Tensor tensor(std::initializer_list<std::initializer_list<T>> v, std::optional<DType> dtype) {
  return detail::tensor_from_nested<T>(v, dtype);
}
template <class T>
Tensor tensor(std::initializer_list<std::initializer_list<std::initializer_list<T>>> v,
              std::optional<DType> dtype) {
  return detail::tensor_from_nested<T>(v, dtype);
}
template <class T>
Tensor tensor(
    std::initializer_list<std::initializer_list<std::initializer_list<std::initializer_list<T>>>> v,
    std::optional<DType> dtype) {
  return detail::tensor_from_nested<T>(v, dtype);
}

}  // namespace nx
