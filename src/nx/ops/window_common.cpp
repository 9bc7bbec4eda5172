#include "window_common.hpp"

#include "nx/error.hpp"

namespace nx::detail {

std::vector<int64_t> per_axis_or_ones(const std::vector<int64_t>& v, size_t n, const char* op,
                                      const char* what) {
  if (v.empty()) return std::vector<int64_t>(n, 1);
  if (v.size() != n) {
    throw Error(std::string(op) + ": " + what + " needs " + std::to_string(n) + " entries, got " +
                std::to_string(v.size()));
  }
  for (int64_t x : v) {
    if (x < 1)
      throw Error(std::string(op) + ": " + what + " must be >= 1, got " + std::to_string(x));
  }
  return v;
}

void resolve_padding(const Padding& padding, const std::vector<int64_t>& dilated_window,
                     const char* op, std::vector<int64_t>& lo, std::vector<int64_t>& hi) {
  size_t n = dilated_window.size();
  lo.assign(n, 0);
  hi.assign(n, 0);
  switch (padding.kind) {
    case Padding::Kind::Valid:
      return;
    case Padding::Kind::Same:
      for (size_t i = 0; i < n; ++i) {
        int64_t total = std::max<int64_t>(dilated_window[i] - 1, 0);
        lo[i] = total / 2;
        hi[i] = total - total / 2;
      }
      return;
    case Padding::Kind::Explicit:
      if (padding.pairs.size() != n) {
        throw Error(std::string(op) + ": explicit padding needs " + std::to_string(n) +
                    " {lo, hi} pairs, got " + std::to_string(padding.pairs.size()));
      }
      for (size_t i = 0; i < n; ++i) {
        lo[i] = padding.pairs[i].first;
        hi[i] = padding.pairs[i].second;
      }
      return;
  }
}

}  // namespace nx::detail
