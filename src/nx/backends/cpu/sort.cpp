// CPU kernel of sort: a stable sort along one axis, ascending or descending, that returns the
// sorted values and, as s64, the position each came from.
//
// Order: integers by value; floats by value with -0.0 equal to 0.0 and every NaN equal to every
// other NaN and above +inf. So ascending puts NaNs last and descending puts them first; ties
// (including -0.0 vs 0.0 and NaN vs NaN) keep their input order in both directions. Values are
// copied bit for bit (signs of zeros and NaN payloads survive).
//
// Method: each element becomes an unsigned key whose integer order is the order above
// (descending flips every bit, which reverses the order and keeps ties tied), and the
// (key, index) pairs of each row are sorted stably: insertion sort for short rows, a merge
// sort for medium ones, and an LSD radix sort on bytes for long ones. The key type depends only
// on the element width, so 4 sorts serve all 12 numeric dtypes.
#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "../../core/tensor_impl.hpp"
#include "../../core/visit_dtype.hpp"
#include "backend.hpp"
#include "parallel.hpp"
#include "strided_index.hpp"

namespace nx::cpu {

namespace {

template <class T>
struct KeyOf {
  using type = std::conditional_t<
      sizeof(T) == 1, uint8_t,
      std::conditional_t<sizeof(T) == 2, uint16_t,
                         std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>>>;
};

// The unsigned key of x whose integer order is the ascending order of the header comment.
template <class T>
typename KeyOf<T>::type sort_key(T x) {
  using K = typename KeyOf<T>::type;
  constexpr K kSign = K(K(1) << (sizeof(K) * 8 - 1));
  K u;
  std::memcpy(&u, &x, sizeof(K));
  if constexpr (std::is_unsigned_v<T>) {
    return u;
  } else if constexpr (std::is_integral_v<T>) {
    return static_cast<K>(u ^ kSign);
  } else {
    constexpr int kMant = std::is_same_v<T, half>       ? 10
                          : std::is_same_v<T, bfloat16> ? 7
                          : std::is_same_v<T, float>    ? 23
                                                        : 52;
    constexpr K kInf = static_cast<K>(static_cast<K>(kSign - 1) >> kMant << kMant);
    K mag = static_cast<K>(u & static_cast<K>(kSign - 1));
    if (mag > kInf) return static_cast<K>(~K(0));  // every NaN: one key, above +inf
    if (mag == 0) return kSign;                    // -0.0 and 0.0: one key
    return (u & kSign) ? static_cast<K>(~u) : static_cast<K>(u | kSign);
  }
}

// A key and the position it came from; rows shorter than 2^32 use 32-bit positions, which
// halves the bytes every sorting pass moves for 4-byte keys.
template <class K, class I>
struct Item {
  K key;
  I index;
};

// Sorts items stably by key; tmp has room for as many items.
template <class K, class I>
void stable_sort_items(Item<K, I>* a, Item<K, I>* tmp, int64_t n) {
  if (n <= 48) {
    for (int64_t i = 1; i < n; ++i) {
      Item<K, I> v = a[i];
      int64_t j = i;
      for (; j > 0 && a[j - 1].key > v.key; --j) a[j] = a[j - 1];
      a[j] = v;
    }
    return;
  }
  if (n < 2048) {
    std::stable_sort(a, a + n,
                     [](const Item<K, I>& x, const Item<K, I>& y) { return x.key < y.key; });
    return;
  }
  // LSD radix sort on bytes; all histograms come from one pass, and a byte on which every key
  // agrees costs nothing.
  constexpr int kBytes = sizeof(K);
  std::array<std::array<int64_t, 256>, kBytes> hist{};
  for (int64_t i = 0; i < n; ++i)
    for (int b = 0; b < kBytes; ++b) ++hist[b][(a[i].key >> (8 * b)) & 0xff];
  Item<K, I>* src = a;
  Item<K, I>* dst = tmp;
  for (int b = 0; b < kBytes; ++b) {
    auto& h = hist[b];
    if (h[(src[0].key >> (8 * b)) & 0xff] == n) continue;
    int64_t sum = 0;
    for (int64_t& c : h) {
      int64_t v = c;
      c = sum;
      sum += v;
    }
    for (int64_t i = 0; i < n; ++i) dst[h[(src[i].key >> (8 * b)) & 0xff]++] = src[i];
    std::swap(src, dst);
  }
  if (src != a) std::copy_n(src, n, a);
}

template <class T, class I>
void sort_rows(const T* x, T* values, int64_t* indices, AxisSplit s, bool descending) {
  using K = typename KeyOf<T>::type;
  const int64_t rows = s.outer * s.inner;
  parallel_for(rows, std::max<int64_t>(1, kParallelGrain / s.n), [&](int64_t b, int64_t e) {
    std::vector<Item<K, I>> items(static_cast<size_t>(s.n)), tmp(static_cast<size_t>(s.n));
    for (int64_t r = b; r < e; ++r) {
      // Row r is column r % inner of slab r / inner; element i sits at base + i * inner.
      const int64_t base = r / s.inner * s.n * s.inner + r % s.inner;
      for (int64_t i = 0; i < s.n; ++i) {
        K k = sort_key(x[base + i * s.inner]);
        items[i] = {descending ? static_cast<K>(~k) : k, static_cast<I>(i)};
      }
      stable_sort_items(items.data(), tmp.data(), s.n);
      for (int64_t i = 0; i < s.n; ++i) {
        const int64_t from = static_cast<int64_t>(items[i].index);
        values[base + i * s.inner] = x[base + from * s.inner];
        indices[base + i * s.inner] = from;
      }
    }
  });
}

template <class T>
void sort_typed(const T* x, T* values, int64_t* indices, AxisSplit s, bool descending) {
  if (s.n <= int64_t{0xffffffff})
    sort_rows<T, uint32_t>(x, values, indices, s, descending);
  else
    sort_rows<T, int64_t>(x, values, indices, s, descending);
}

}  // namespace

void kernel_sort(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  const auto& p = std::get<detail::SortParams>(params);
  const Tensor& x = in[0];
  if (x.size() == 0) return;
  AxisSplit s = split_at_axis(x.shape(), p.axis);
  auto* idx = detail::mutable_data<int64_t>(out[1]);
  detail::visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_same_v<T, bool>) {
      sort_typed<T>(static_cast<const T*>(x.raw_data()), detail::mutable_data<T>(out[0]), idx, s,
                    p.descending);
    }
  });
}

}  // namespace nx::cpu
