// Conversion and select loops for fused programs, and the support query.
#include <cstring>
#include <type_traits>

#include "convert.hpp"
#include "fused_ops.hpp"

namespace nx::cpu::fused {

namespace {

// As the eager convert kernel (convert.cpp): memcpy for equal types, the bulk f16/bf16 routines
// where they apply, convert_value for everything else.
template <class To, class From>
void convert_run(const void* in, void* out, int64_t n) {
  if constexpr (std::is_same_v<To, From> && !std::is_same_v<To, bool>) {
    std::memcpy(out, in, static_cast<size_t>(n) * sizeof(To));
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
      o[i] = static_cast<ST>(conv::convert_value<To, From>(static_cast<From>(a[i])));
    }
  }
}

// select on elements of one width W (only the bits matter); a single-value operand reads
// element 0 throughout.
template <class W, bool C1, bool A1, bool B1>
void select_run(const void* pc, const void* pa, const void* pb, void* out, int64_t n) {
  const uint8_t* __restrict c = static_cast<const uint8_t*>(pc);
  const W* __restrict a = static_cast<const W*>(pa);
  const W* __restrict b = static_cast<const W*>(pb);
  W* __restrict o = static_cast<W*>(out);
  // Both operands are read and blended by a mask: a conditional read would keep the loop
  // scalar (the compiler may not load a[i] where the source program does not).
  for (int64_t i = 0; i < n; ++i) {
    const W m = static_cast<W>(W(0) - static_cast<W>(c[C1 ? 0 : i] != 0));
    o[i] = static_cast<W>((a[A1 ? 0 : i] & m) | (b[B1 ? 0 : i] & static_cast<W>(~m)));
  }
}

// select on pred also normalizes operand bytes to 0/1, as the eager kernel does.
template <bool C1, bool A1, bool B1>
void select_pred_run(const void* pc, const void* pa, const void* pb, void* out, int64_t n) {
  const uint8_t* c = static_cast<const uint8_t*>(pc);
  const uint8_t* a = static_cast<const uint8_t*>(pa);
  const uint8_t* b = static_cast<const uint8_t*>(pb);
  uint8_t* o = static_cast<uint8_t*>(out);
  for (int64_t i = 0; i < n; ++i) {
    const bool take = c[C1 ? 0 : i] != 0;
    o[i] = (take ? a[A1 ? 0 : i] : b[B1 ? 0 : i]) != 0;
  }
}

template <class W>
SelectLoop select_for(bool c1, bool a1, bool b1) {
  const int mode = (c1 ? 4 : 0) | (a1 ? 2 : 0) | (b1 ? 1 : 0);
  static constexpr SelectLoop kLoops[8] = {
      &select_run<W, false, false, false>, &select_run<W, false, false, true>,
      &select_run<W, false, true, false>,  &select_run<W, false, true, true>,
      &select_run<W, true, false, false>,  &select_run<W, true, false, true>,
      &select_run<W, true, true, false>,   &select_run<W, true, true, true>};
  return kLoops[mode];
}

}  // namespace

ew::UnaryLoop convert_loop(DType from, DType to) {
  ew::UnaryLoop loop = nullptr;
  detail::visit_dtype(from, [&](auto from_tag) {
    using From = typename decltype(from_tag)::type;
    detail::visit_dtype(to, [&](auto to_tag) {
      using To = typename decltype(to_tag)::type;
      loop = &convert_run<To, From>;
    });
  });
  return loop;
}

SelectLoop select_loop(DType t, bool c_one, bool a_one, bool b_one) {
  if (t == DType::Pred) {
    const int mode = (c_one ? 4 : 0) | (a_one ? 2 : 0) | (b_one ? 1 : 0);
    static constexpr SelectLoop kLoops[8] = {
        &select_pred_run<false, false, false>, &select_pred_run<false, false, true>,
        &select_pred_run<false, true, false>,  &select_pred_run<false, true, true>,
        &select_pred_run<true, false, false>,  &select_pred_run<true, false, true>,
        &select_pred_run<true, true, false>,   &select_pred_run<true, true, true>};
    return kLoops[mode];
  }
  switch (byte_size(t)) {
    case 1:
      return select_for<uint8_t>(c_one, a_one, b_one);
    case 2:
      return select_for<uint16_t>(c_one, a_one, b_one);
    case 4:
      return select_for<uint32_t>(c_one, a_one, b_one);
    default:
      return select_for<uint64_t>(c_one, a_one, b_one);
  }
}

bool supports(Prim p, DType t) {
  switch (detail::info(p).group) {
    case detail::PrimGroup::Unary:
      return unary_loop(p, t) != nullptr;
    case detail::PrimGroup::Binary:
    case detail::PrimGroup::Compare:
      return binary_loops(p, t).vv != nullptr;
    case detail::PrimGroup::Ternary:
    case detail::PrimGroup::Convert:
      return true;  // select, convert and bitcast take every dtype their rules accept
    default:
      return false;
  }
}

}  // namespace nx::cpu::fused
