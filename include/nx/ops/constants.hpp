// Numeric constants as scalar tensors (Nx.Constants).
#pragma once

#include "nx/tensor.hpp"

namespace nx {

Tensor pi(DType dtype = f32);                  ///< π
Tensor e(DType dtype = f32);                   ///< Euler's number
Tensor euler_gamma(DType dtype = f32);         ///< the Euler-Mascheroni constant
Tensor epsilon(DType dtype);                   ///< machine epsilon of a float dtype
Tensor infinity(DType dtype);                  ///< +inf of a float dtype
Tensor neg_infinity(DType dtype);              ///< -inf of a float dtype
Tensor nan(DType dtype);                       ///< quiet NaN of a float dtype
Tensor max_finite(DType dtype);                ///< largest finite value of any numeric dtype
Tensor min_finite(DType dtype);                ///< lowest finite value of any numeric dtype
Tensor smallest_positive_normal(DType dtype);  ///< smallest positive normal float

}  // namespace nx
