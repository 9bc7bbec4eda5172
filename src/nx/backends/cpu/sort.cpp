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
// on the element width, so 4 sorts serve all 12 numeric dtypes. Each parallel chunk sorts in
// buffers planned with the kernel (the call's scratch), so a compiled sort allocates nothing.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>

#include "../../core/tensor_impl.hpp"
#include "../../core/visit_dtype.hpp"
#include "backend.hpp"
#include "dnnl_common.hpp"
#include "parallel.hpp"
#include "prepared.hpp"
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

// Sorts items stably by key with tmp (room for n items): insertion sort on runs of 8, then
// bottom-up merges between the two buffers (std::stable_sort would allocate its own buffer).
template <class K, class I>
void merge_sort_items(Item<K, I>* a, Item<K, I>* tmp, int64_t n) {
  constexpr int64_t kRun = 8;  // measured: faster than 16 or 32, and than std::stable_sort
  for (int64_t r0 = 0; r0 < n; r0 += kRun) {
    const int64_t r1 = std::min(n, r0 + kRun);
    for (int64_t i = r0 + 1; i < r1; ++i) {
      Item<K, I> v = a[i];
      int64_t j = i;
      for (; j > r0 && a[j - 1].key > v.key; --j) a[j] = a[j - 1];
      a[j] = v;
    }
  }
  Item<K, I>* src = a;
  Item<K, I>* dst = tmp;
  for (int64_t w = kRun; w < n; w *= 2) {
    for (int64_t lo = 0; lo < n; lo += 2 * w) {
      const int64_t mid = std::min(n, lo + w), hi = std::min(n, lo + 2 * w);
      int64_t i = lo, j = mid, o = lo;
      while (i < mid && j < hi) {
        if (src[j].key < src[i].key)
          dst[o++] = src[j++];
        else
          dst[o++] = src[i++];
      }
      while (i < mid) dst[o++] = src[i++];
      while (j < hi) dst[o++] = src[j++];
    }
    std::swap(src, dst);
  }
  if (src != a) std::copy_n(src, n, a);
}

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
    merge_sort_items(a, tmp, n);
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

// A sort planned for its operand type: the axis split, and per parallel chunk a buffer of
// (key, index) items and one for the merges.
struct SortPlan {
  AxisSplit s;
  DType dtype = DType::F32;
  bool descending = false;
  bool wide_index = false;  ///< rows of 2^32 or more: 64-bit positions
  int64_t grain = 1, chunks = 1;
  size_t chunk_bytes = 0;  ///< items and tmp of one chunk
  size_t scratch_bytes = 0;
};

template <class T, class I>
size_t item_bytes() {
  return sizeof(Item<typename KeyOf<T>::type, I>);
}

SortPlan plan_sort(const detail::SortParams& p, const TensorType& x) {
  SortPlan plan;
  plan.dtype = x.dtype;
  plan.descending = p.descending;
  if (num_elements(x.shape) == 0) return plan;
  plan.s = split_at_axis(x.shape, p.axis);
  plan.wide_index = plan.s.n > int64_t{0xffffffff};
  size_t item = 0;
  detail::visit_dtype(x.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    item = plan.wide_index ? item_bytes<T, int64_t>() : item_bytes<T, uint32_t>();
  });
  const int64_t rows = plan.s.outer * plan.s.inner;
  plan.grain = std::max<int64_t>(1, kParallelGrain / plan.s.n);
  plan.chunks = chunk_count(rows, plan.grain);
  plan.chunk_bytes = 2 * scratch_round(static_cast<size_t>(plan.s.n) * item);
  plan.scratch_bytes = plan.chunk_bytes * static_cast<size_t>(plan.chunks);
  return plan;
}

template <class T, class I>
void sort_rows(const SortPlan& plan, const T* x, T* values, int64_t* indices, std::byte* scratch) {
  using K = typename KeyOf<T>::type;
  const AxisSplit s = plan.s;
  const bool descending = plan.descending;
  const int64_t rows = s.outer * s.inner;
  const size_t half = plan.chunk_bytes / 2;
  parallel_chunks(rows, plan.grain, plan.chunks, [&](int64_t chunk, int64_t b, int64_t e) {
    std::byte* mine = scratch + static_cast<size_t>(chunk) * plan.chunk_bytes;
    auto* items = reinterpret_cast<Item<K, I>*>(mine);
    auto* tmp = reinterpret_cast<Item<K, I>*>(mine + half);
    for (int64_t r = b; r < e; ++r) {
      // Row r is column r % inner of slab r / inner; element i sits at base + i * inner.
      const int64_t base = r / s.inner * s.n * s.inner + r % s.inner;
      for (int64_t i = 0; i < s.n; ++i) {
        K k = sort_key(x[base + i * s.inner]);
        items[i] = {descending ? static_cast<K>(~k) : k, static_cast<I>(i)};
      }
      stable_sort_items(items, tmp, s.n);
      for (int64_t i = 0; i < s.n; ++i) {
        const int64_t from = static_cast<int64_t>(items[i].index);
        values[base + i * s.inner] = x[base + from * s.inner];
        indices[base + i * s.inner] = from;
      }
    }
  });
}

void run_sort(const SortPlan& plan, const Tensor& x, std::span<Tensor> out, void* scratch) {
  if (x.size() == 0) return;
  auto* idx = detail::mutable_data<int64_t>(out[1]);
  auto* s = static_cast<std::byte*>(scratch);
  detail::visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_same_v<T, bool>) {
      const T* src = static_cast<const T*>(x.raw_data());
      T* values = detail::mutable_data<T>(out[0]);
      if (plan.wide_index)
        sort_rows<T, int64_t>(plan, src, values, idx, s);
      else
        sort_rows<T, uint32_t>(plan, src, values, idx, s);
    }
  });
}

class PreparedSort final : public PreparedKernel {
 public:
  explicit PreparedSort(SortPlan plan) : plan_(plan) {}
  size_t scratch_bytes() const override { return plan_.scratch_bytes; }
  void run(std::span<const Tensor> in, std::span<Tensor> out, void* scratch) const override {
    run_sort(plan_, in[0], out, scratch);
  }

 private:
  SortPlan plan_;
};

}  // namespace

void kernel_sort(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  const SortPlan plan = plan_sort(std::get<detail::SortParams>(params), in[0].type());
  dnnl_util::Scratch scratch;
  run_sort(plan, in[0], out, plan.scratch_bytes > 0 ? scratch.take(plan.scratch_bytes) : nullptr);
}

std::unique_ptr<PreparedKernel> prepare_sort(const Params& params, std::span<const TensorType> in) {
  return std::make_unique<PreparedSort>(plan_sort(std::get<detail::SortParams>(params), in[0]));
}

}  // namespace nx::cpu
