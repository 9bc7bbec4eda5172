// Linear layers: dense, bilinear, embedding, bias.
#include "axon/fn/linear.hpp"

#include <string>

#include "check.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/indexing.hpp"
#include "nx/ops/linalg.hpp"
#include "nx/ops/shape.hpp"

namespace axon::fn {

namespace {

// Adds an optional bias that is a scalar or a vector of `units` elements to y [..., units].
Tensor add_bias(std::string_view fn, const Tensor& y, const std::optional<Tensor>& b,
                int64_t units) {
  if (!b) return y;
  const bool ok = b->rank() == 0 || (b->rank() == 1 && b->axis_size(0) == units);
  if (!ok) {
    detail::fail(fn, "bias must be a scalar or have shape [" + std::to_string(units) +
                         "] (the output size), got " + detail::describe(*b));
  }
  return nx::add(y, *b);
}

}  // namespace

Tensor dense(const Tensor& x, const Tensor& kernel, const std::optional<Tensor>& bias) {
  constexpr std::string_view fn = "dense";
  detail::check_min_rank(fn, "input", x, 1);
  detail::check_rank(fn, "kernel", kernel, 2);
  const int64_t in = x.axis_size(x.rank() - 1);
  if (kernel.axis_size(0) != in) {
    detail::fail(fn, "kernel must have " + std::to_string(in) +
                         " rows (the input's last axis), got " + detail::describe(kernel) +
                         " for input " + detail::describe(x));
  }
  Tensor y = nx::dot(x, {x.rank() - 1}, kernel, {0});
  return add_bias(fn, y, bias, kernel.axis_size(1));
}

Tensor bilinear(const Tensor& x1, const Tensor& x2, const Tensor& kernel,
                const std::optional<Tensor>& bias) {
  constexpr std::string_view fn = "bilinear";
  detail::check_min_rank(fn, "input1", x1, 1);
  detail::check_min_rank(fn, "input2", x2, 1);
  detail::check_rank(fn, "kernel", kernel, 3);
  const int64_t r = x1.rank();
  nx::Shape lead1(x1.shape().begin(), x1.shape().end() - 1);
  nx::Shape lead2(x2.shape().begin(), x2.shape().end() - 1);
  if (lead1 != lead2) {
    detail::fail(fn, "input1 and input2 must share every axis but the last, got " +
                         detail::describe(x1) + " and " + detail::describe(x2));
  }
  const int64_t in1 = x1.axis_size(r - 1), in2 = x2.axis_size(r - 1);
  if (kernel.axis_size(1) != in1 || kernel.axis_size(2) != in2) {
    detail::fail(fn, "kernel must have shape [units][" + std::to_string(in1) + "][" +
                         std::to_string(in2) + "] (the inputs' last axes), got " +
                         detail::describe(kernel));
  }
  const int64_t units = kernel.axis_size(0);
  int64_t batch = 1;
  for (int64_t d : lead1) batch *= d;
  // t[b, o, j] = sum_i x1[b, i] k[o, i, j]; then y[b, o] = sum_j t[b, o, j] x2[b, j].
  Tensor a = nx::reshape(x1, {batch, in1});
  Tensor c = nx::reshape(x2, {batch, in2});
  Tensor t = nx::dot(a, {1}, kernel, {1});
  Tensor y = nx::dot(t, {2}, {0}, c, {1}, {0});
  nx::Shape out = lead1;
  out.push_back(units);
  return add_bias(fn, nx::reshape(y, out), bias, units);
}

Tensor embedding(const Tensor& indices, const Tensor& kernel) {
  constexpr std::string_view fn = "embedding";
  detail::check_rank(fn, "kernel", kernel, 2);
  if (!nx::is_integer(indices.dtype())) {
    detail::fail(fn, "indices must be integers, got " + detail::describe(indices));
  }
  return nx::take(kernel, indices, 0);
}

Tensor bias(const Tensor& x, const Tensor& b) {
  constexpr std::string_view fn = "bias";
  bool ok = b.rank() <= x.rank();
  for (int64_t i = 1; ok && i <= b.rank(); ++i) {
    const int64_t bd = b.axis_size(b.rank() - i), xd = x.axis_size(x.rank() - i);
    ok = bd == 1 || bd == xd;
  }
  if (!ok) {
    detail::fail(fn, "bias must broadcast against the input's trailing axes, got " +
                         detail::describe(b) + " for input " + detail::describe(x));
  }
  return nx::add(x, b);
}

}  // namespace axon::fn
