#include "window_plan.hpp"

namespace nx::cpu {

WindowPlan make_window_plan(const detail::WindowParams& params, const Shape& in, const Shape& out) {
  std::vector<WindowAxis> axes(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    axes[i] = WindowAxis{
        in[i], params.window[i], params.strides[i], params.pad_lo[i], params.window_dilation[i],
        out[i]};
  }
  size_t j = axes.size();
  while (j > 0 && axes[j - 1].is_identity()) --j;
  WindowPlan p;
  if (j < axes.size() || axes.empty()) {
    int64_t block = 1;
    for (size_t i = j; i < axes.size(); ++i) block *= axes[i].size;
    p.last = WindowAxis{block, 1, 1, 0, 1, block};
  } else {
    p.last = axes.back();
    j = axes.size() - 1;
  }
  p.lead.assign(axes.begin(), axes.begin() + static_cast<std::ptrdiff_t>(j));
  p.lead_stride.resize(j);
  int64_t stride = p.last.size;
  for (size_t i = j; i-- > 0;) {
    p.lead_stride[i] = stride;
    stride *= p.lead[i].size;
  }
  for (const WindowAxis& a : p.lead) {
    p.out_rows *= a.out;
    p.rows_per_window *= a.window;
  }
  for (size_t i = 0; i < p.lead.size() && p.lead[i].is_identity(); ++i) p.blocks *= p.lead[i].out;
  return p;
}

int64_t covered_rows(const WindowPlan& p, int64_t row, int64_t* work, int64_t* offsets) {
  const size_t n = p.lead.size();
  int64_t* pos = work;
  int64_t* k0 = work + n;
  int64_t* k1 = work + 2 * n;
  int64_t* k = work + 3 * n;
  for (size_t i = n; i-- > 0;) {
    pos[i] = row % p.lead[i].out;
    row /= p.lead[i].out;
    p.lead[i].valid(pos[i], k0[i], k1[i]);
    if (k1[i] <= k0[i]) return 0;  // this axis' window is all padding
    k[i] = k0[i];
  }
  int64_t count = 0;
  while (true) {
    int64_t off = 0;
    for (size_t i = 0; i < n; ++i) {
      off += (p.lead[i].start(pos[i]) + k[i] * p.lead[i].dilation) * p.lead_stride[i];
    }
    offsets[count++] = off;
    // Odometer over the valid window positions, last axis fastest.
    size_t i = n;
    while (i > 0 && ++k[i - 1] >= k1[i - 1]) {
      k[i - 1] = k0[i - 1];
      --i;
    }
    if (i == 0) return count;
  }
}

}  // namespace nx::cpu
