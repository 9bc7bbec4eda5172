// Deterministic benchmark inputs. bench/refs/torch_ref.py rebuilds the same values with
// ramp() there, so both sides compute on identical data (values can change the speed of
// transcendental functions and denormal handling, so they must match).
#pragma once

#include <cstdint>
#include <vector>

#include "nx/nx.hpp"

namespace nx_bench {

/// f32 values x[i] = lo + (hi - lo) * (i mod period) / period, in row-major order.
inline nx::Tensor ramp(const nx::Shape& shape, int64_t period, float lo, float hi) {
  std::vector<float> v(static_cast<size_t>(nx::num_elements(shape)));
  const float step = (hi - lo) / static_cast<float>(period);
  for (size_t i = 0; i < v.size(); ++i) {
    v[i] = lo + step * static_cast<float>(static_cast<int64_t>(i) % period);
  }
  return nx::from_vector(v, shape);
}

}  // namespace nx_bench
