// The oneDNN problem an epilogue program describes (see fused_dnnl.hpp): the contraction's
// dims and operand strides, the bias, and the post-ops, read from the program graph.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <optional>
#include <vector>

#include "../../defn/graph.hpp"
#include "dnnl_common.hpp"

namespace nx::cpu::fused {

using dnnl::memory;

/// A tensor argument of the primitive besides src, weights and dst: a leaf (an input, or a
/// constant past the inputs) and its memory dims and strides.
struct Extra {
  int32_t leaf = -1;
  memory::dims dims, strides;
};

struct PostOp {
  bool binary = false;
  dnnl::algorithm alg = dnnl::algorithm::undef;
  float alpha = 0, beta = 0;
  Extra src1;  ///< binary
};

/// What the program asks of oneDNN.
struct Plan {
  bool conv = false;
  DType dtype = DType::F32;
  int32_t a = -1, b = -1;  ///< leaves of the contraction's operands
  // matmul: [batch,] m x k times k x n; conv: the problem's dims (src, weights, dst). Strides
  // of the buffers: a convolution's operands and result may be transposed views (channels-last
  // activations read and written in place).
  memory::dims a_dims, a_strides, b_dims, b_strides, c_dims, c_strides;
  memory::dims strides, dilates, pad_l, pad_r;  ///< conv
  int64_t groups = 1;                           ///< conv feature groups
  std::optional<Extra> bias;
  std::vector<PostOp> posts;

  dnnl_util::Signature signature() const {
    dnnl_util::Signature s{static_cast<int64_t>(dtype), conv, groups, bias.has_value()};
    auto add = [&](const memory::dims& v) {
      s.push_back(static_cast<int64_t>(v.size()));
      s.insert(s.end(), v.begin(), v.end());
    };
    for (const auto* v : {&a_dims, &a_strides, &b_dims, &b_strides, &c_dims, &c_strides, &strides,
                          &dilates, &pad_l, &pad_r})
      add(*v);
    if (bias) add(bias->dims), add(bias->strides);
    for (const PostOp& p : posts) {
      s.push_back(p.binary);
      s.push_back(static_cast<int64_t>(p.alg));
      s.push_back(std::bit_cast<uint32_t>(p.alpha));
      s.push_back(std::bit_cast<uint32_t>(p.beta));
      if (p.binary) add(p.src1.dims), add(p.src1.strides);
    }
    return s;
  }
};

/// The plan of an epilogue program, with its constants (leaves past the inputs) appended to
/// `constants`; nullopt when the program is not of the form fused_dnnl.hpp describes.
std::optional<Plan> read_plan(const detail::Graph& program, std::vector<Tensor>& constants);

/// Row-major strides of dims.
std::vector<int64_t> row_major(const std::vector<int64_t>& dims);

}  // namespace nx::cpu::fused
