// CPU kernels of convert (every pair of the 13 dtypes, rules in convert.hpp) and bitcast.
//
// bitcast reinterprets the bits as another dtype of the same width (the shape rule checks the
// widths and excludes pred). Tensors are immutable, so it is a view: the output shares the
// input's buffer and no byte is copied.
#include <cstring>

#include "../../core/tensor_impl.hpp"
#include "backend.hpp"
#include "convert.hpp"
#include "elementwise.hpp"

namespace nx::cpu {

namespace {

template <class To, class From>
void convert_loop(const void* in, void* out, int64_t n) {
  if constexpr (std::is_same_v<To, From> && !std::is_same_v<To, bool>) {
    std::memcpy(out, in, static_cast<size_t>(n) * sizeof(To));  // pred takes the loop: 0/1
  } else if constexpr (std::is_same_v<From, float> && detail::is_half_v<To>) {
    ew::narrow(static_cast<const float*>(in), static_cast<To*>(out), n);
  } else if constexpr (detail::is_half_v<From> && std::is_same_v<To, float>) {
    ew::widen(static_cast<const From*>(in), static_cast<float*>(out), n);
  } else {
    using SF = ew::storage_t<From>;
    using ST = ew::storage_t<To>;
    const SF* __restrict a = static_cast<const SF*>(in);
    ST* __restrict o = static_cast<ST*>(out);
    for (int64_t i = 0; i < n; ++i) {
      // Pred bytes are read as byte != 0 and written as 0 or 1.
      o[i] = static_cast<ST>(conv::convert_value<To, From>(static_cast<From>(a[i])));
    }
  }
}

}  // namespace

void kernel_convert(const Params&, std::span<const Tensor> in, std::span<Tensor> out) {
  const DType from = in[0].dtype(), to = out[0].dtype();
  detail::visit_dtype(from, [&](auto from_tag) {
    using From = typename decltype(from_tag)::type;
    detail::visit_dtype(to, [&](auto to_tag) {
      using To = typename decltype(to_tag)::type;
      ew::run_unary(in[0], out[0], &convert_loop<To, From>, ew::kGrainCheap);
    });
  });
}

void kernel_bitcast(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  const DType to = std::get<detail::ConvertParams>(params).dtype;
  out[0] = detail::make_tensor(TensorType{in[0].shape(), to}, in[0].impl()->buffer);
}

}  // namespace nx::cpu
