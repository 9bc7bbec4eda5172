#include "dnnl_common.hpp"

#include <algorithm>
#include <cstring>

namespace nx::cpu::dnnl_util {

const dnnl::engine& engine() {
  static const dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

dnnl::memory::data_type to_dnnl(DType t) {
  using dt = dnnl::memory::data_type;
  switch (t) {
    case DType::F32:
      return dt::f32;
    case DType::BF16:
      return dt::bf16;
    case DType::F16:
      return dt::f16;
    case DType::S32:
      return dt::s32;
    case DType::S8:
      return dt::s8;
    case DType::U8:
      return dt::u8;
    default:
      return dt::undef;
  }
}

dnnl::primitive_attr default_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

bool is_optimized(const dnnl::primitive_desc_base& pd) {
  const char* impl = pd.impl_info_str();
  return impl != nullptr && std::strncmp(impl, "ref", 3) != 0;
}

size_t BoundArgs::add(int arg, const dnnl::memory::desc& md, const void* data) {
  memory_.push_back(wrap(md, data));
  // The C handle belongs to the memory object, not to the vector slot: it survives reallocation.
  args_.push_back({arg, memory_.back().get()});
  return memory_.size() - 1;
}

void BoundArgs::execute(const dnnl::primitive& p) const {
  dnnl::error::wrap_c_api(
      dnnl_primitive_execute(p.get(), stream().get(), static_cast<int>(args_.size()), args_.data()),
      "nx: oneDNN execute");
}

size_t SignatureHash::operator()(const Signature& s) const noexcept {
  // FNV-1a over the 64-bit words: signatures are short and mostly small integers.
  uint64_t h = 1469598103934665603ull;
  for (int64_t v : s) {
    h ^= static_cast<uint64_t>(v);
    h *= 1099511628211ull;
  }
  return static_cast<size_t>(h ^ (h >> 29));
}

namespace {

constexpr size_t kAlign = 64;
// An arena larger than this is released when the outermost Scratch ends, so one huge call does
// not pin its memory for the life of the thread.
constexpr size_t kMaxRetained = size_t{256} << 20;

size_t round_up(size_t n) {
  return (n + kAlign - 1) / kAlign * kAlign;
}

std::byte* aligned(std::byte* p) {
  auto u = reinterpret_cast<uintptr_t>(p);
  return p + (round_up(u) - u);
}

struct Arena {
  std::unique_ptr<std::byte[]> storage;
  std::byte* base = nullptr;
  size_t capacity = 0;
  size_t used = 0;
  size_t wanted = 0;  ///< the most any nest of Scratches asked for at once
  int depth = 0;
};

Arena& arena() {
  thread_local Arena a;
  return a;
}

}  // namespace

Scratch::Scratch() : mark_(arena().used) {
  ++arena().depth;
}

Scratch::~Scratch() {
  Arena& a = arena();
  a.used = mark_;
  if (--a.depth == 0) {
    if (a.wanted > a.capacity && a.wanted <= kMaxRetained) {
      a.storage.reset();
      a.storage = std::make_unique_for_overwrite<std::byte[]>(a.wanted + kAlign);
      a.base = aligned(a.storage.get());
      a.capacity = a.wanted;
    } else if (a.capacity > kMaxRetained) {
      a.storage.reset();
      a.base = nullptr;
      a.capacity = 0;
    }
    a.wanted = 0;
  }
}

void* Scratch::take(size_t bytes) {
  Arena& a = arena();
  bytes = round_up(std::max<size_t>(bytes, 1));
  a.wanted = std::max(a.wanted, a.used + bytes);
  if (a.used + bytes <= a.capacity) {
    void* p = a.base + a.used;
    a.used += bytes;
    return p;
  }
  // Count the region as used so that the arena grows to hold the whole nest next time.
  a.used += bytes;
  overflow_.push_back(std::make_unique_for_overwrite<std::byte[]>(bytes + kAlign));
  return aligned(overflow_.back().get());
}

}  // namespace nx::cpu::dnnl_util
