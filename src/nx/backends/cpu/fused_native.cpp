// compile_native: a program's body as an AVX-512 loop generated with Xbyak (see fused_native.hpp).
//
// The body_safe list of a program is lowered to steps in SSA form (each load or operation defines
// a new value, so the interpreter's reused L1 slots become distinct values), registers are
// allocated by linear scan, and the steps are emitted twice: a loop over full vectors of 16
// elements, then one masked iteration for the tail.
#include "fused_native.hpp"

#include <xbyak/xbyak.h>
#include <xbyak/xbyak_util.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "fused_program.hpp"

namespace nx::cpu::fused {

namespace {

std::atomic<bool> g_native{true};

/// zmm0..zmm29 hold values and uniforms; zmm30 and zmm31 hold a uniform loaded for one step when
/// it has no register of its own.
constexpr int kValueZmms = 30;
constexpr int kScratchZmm = 30;
/// Opmask registers: k1 is the tail mask, k2 the scratch of max/min, k3..k7 predicates.
constexpr int kFirstPredK = 3;
constexpr int kPredKs = 5;
constexpr int kVectorBytes = 64;
constexpr int kUniBytes = 16;  // as fused_run.cpp

/// Thrown by the lowering when the program holds something the generator does not take.
struct Unsupported {};

void require(bool ok) {
  if (!ok) throw Unsupported{};
}

/// An operand of a step.
struct Arg {
  enum class Kind : uint8_t { None, Val, Uni, Pred };
  Kind kind = Kind::None;
  int32_t id = -1;  ///< value, uniform slot or predicate
};

/// One step of the loop body.
struct Step {
  enum class Kind : uint8_t { Load, Op, Store };
  Kind kind = Kind::Op;
  Prim prim{};
  int32_t dst = -1;     ///< Load, Op: the value (a predicate for compares) it defines
  int32_t buffer = -1;  ///< Load: leaf; Store: output
  std::array<Arg, 3> src{};
};

/// How an operation maps onto instructions.
enum class Form : uint8_t { None, Arith, Sqrt, Negate, Abs, Extreme, Compare, Select };

Form form_of(Prim p) {
  switch (p) {
    case Prim::add:
    case Prim::subtract:
    case Prim::multiply:
    case Prim::divide:
      return Form::Arith;
    case Prim::sqrt:
      return Form::Sqrt;
    case Prim::negate:
      return Form::Negate;
    case Prim::abs:
      return Form::Abs;
    case Prim::max:
    case Prim::min:
      return Form::Extreme;
    case Prim::equal:
    case Prim::not_equal:
    case Prim::less:
    case Prim::less_equal:
    case Prim::greater:
    case Prim::greater_equal:
      return Form::Compare;
    case Prim::select:
      return Form::Select;
    default:
      return Form::None;
  }
}

/// vcmpps predicates equal to C++'s comparison operators on floats: ordered (false on NaN) but
/// for !=, which is true on NaN.
uint8_t compare_imm(Prim p) {
  switch (p) {
    case Prim::equal:
      return 0x00;  // EQ_OQ
    case Prim::not_equal:
      return 0x04;  // NEQ_UQ
    case Prim::less:
      return 0x11;  // LT_OQ
    case Prim::less_equal:
      return 0x12;  // LE_OQ
    case Prim::greater:
      return 0x1E;  // GT_OQ
    default:
      return 0x1D;  // GE_OQ (greater_equal)
  }
}
constexpr uint8_t kEqOq = 0x00, kUnordQ = 0x03, kLtOq = 0x11, kGtOq = 0x1E;

/// Whether the interpreter's loop of p (add or multiply on f32) returns its second operand's NaN
/// when both operands are NaN, for a vector-vector loop or one with a uniform first (a_one) or
/// second operand. IEEE leaves the choice open, x86 returns the first source, and the compiler may
/// commute either way: asked of the loops themselves, once per process.
bool commuted_nan(Prim p, bool a_one, bool b_one) {
  static const std::array<std::array<bool, 3>, 2> table = [] {
    constexpr uint32_t kA = 0x7FC00001u, kB = 0x7FC00002u;
    constexpr size_t kN = 64;
    std::array<uint32_t, kN> a{}, b{}, o{};
    a.fill(kA);
    b.fill(kB);
    std::array<std::array<bool, 3>, 2> t{};
    for (size_t k = 0; k < 2; ++k) {
      const ew::BinaryLoops loops = binary_loops(k == 0 ? Prim::add : Prim::multiply, DType::F32);
      const std::array<ew::BinaryLoop, 3> variants = {loops.vv, loops.sv, loops.vs};
      for (size_t v = 0; v < 3; ++v) {
        variants[v](a.data(), b.data(), o.data(), kN);
        t[k][v] = o[0] == kB;
      }
    }
    return t;
  }();
  return table[p == Prim::add ? 0 : 1][a_one ? 1 : b_one ? 2 : 0];
}

/// The body of a program as steps; throws Unsupported.
class Lowering {
 public:
  explicit Lowering(const Program& p) : p_(p) {}

  std::vector<Step> run() {
    require(p_.layout == ReduceLayout::None && p_.reductions.empty() && p_.gathers.empty());
    require(p_.n > 0 && !p_.body_safe.empty());
    slots_.assign(static_cast<size_t>(p_.slots), Arg{});
    leaf_val_.assign(p_.leaf_esize.size(), -1);
    for (const Instr& ins : p_.body_safe) instr(ins);
    steps_.insert(steps_.end(), stores_.begin(), stores_.end());
    return std::move(steps_);
  }

  int32_t values() const { return values_; }
  int32_t preds() const { return preds_; }

 private:
  /// A 4-byte value operand: f32 for operations, any 4-byte element for copies.
  Arg value(const Ref& r) {
    switch (r.kind) {
      case Ref::Kind::Reg: {
        const Arg a = slots_.at(static_cast<size_t>(r.index));
        require(a.kind == Arg::Kind::Val);
        return a;
      }
      case Ref::Kind::Leaf: {
        const size_t leaf = static_cast<size_t>(r.index);
        require(p_.leaf_esize.at(leaf) == 4);
        if (leaf_val_[leaf] < 0) {
          Step s;
          s.kind = Step::Kind::Load;
          s.buffer = r.index;
          s.dst = leaf_val_[leaf] = values_++;
          steps_.push_back(s);
        }
        return Arg{Arg::Kind::Val, leaf_val_[leaf]};
      }
      case Ref::Kind::Uni:
        require(p_.uni_esize.at(static_cast<size_t>(r.index)) == 4);
        return Arg{Arg::Kind::Uni, r.index};
      default:
        throw Unsupported{};
    }
  }

  void define(const Ref& dst, Step& s, bool pred) {
    require(dst.kind == Ref::Kind::Reg);
    s.dst = pred ? preds_++ : values_++;
    slots_.at(static_cast<size_t>(dst.index)) = Arg{pred ? Arg::Kind::Pred : Arg::Kind::Val, s.dst};
    steps_.push_back(s);
  }

  void instr(const Instr& ins) {
    switch (ins.op) {
      case Instr::Op::Unary:
      case Instr::Op::Binary:
      case Instr::Op::Select: {
        const Form form = form_of(ins.prim);
        require(form != Form::None && ins.dtype == DType::F32);
        Step s;
        s.prim = ins.prim;
        const size_t arity = ins.op == Instr::Op::Unary ? 1 : ins.op == Instr::Op::Binary ? 2 : 3;
        require((form == Form::Select) == (arity == 3));
        require((form == Form::Arith || form == Form::Extreme || form == Form::Compare) ==
                (arity == 2));
        for (size_t i = 0; i < arity; ++i) {
          if (form == Form::Select && i == 0) {
            // The predicate must be a compare of this iteration (an opmask register).
            require(ins.src[0].kind == Ref::Kind::Reg);
            const Arg c = slots_.at(static_cast<size_t>(ins.src[0].index));
            require(c.kind == Arg::Kind::Pred);
            s.src[0] = c;
          } else {
            s.src[i] = value(ins.src[i]);
          }
        }
        // The first operand of every instruction is a register; two uniforms would be a
        // prologue instruction.
        require(s.src[0].kind != Arg::Kind::Uni || arity == 1 || s.src[1].kind != Arg::Kind::Uni);
        define(ins.dst, s, form == Form::Compare);
        return;
      }
      case Instr::Op::Copy:
      case Instr::Op::Fill: {
        require(ins.esize == 4 && ins.dst.kind == Ref::Kind::Out);
        Step s;
        s.kind = Step::Kind::Store;
        s.buffer = ins.dst.index;
        s.src[0] = value(ins.src[0]);
        // Stores go last, after every load of the iteration (outputs may be inputs' buffers).
        stores_.push_back(s);
        return;
      }
      case Instr::Op::Gather:
        break;
    }
    throw Unsupported{};
  }

  const Program& p_;
  std::vector<Arg> slots_;  ///< what each interpreter register slot holds now
  std::vector<int32_t> leaf_val_;
  std::vector<Step> steps_, stores_;
  int32_t values_ = 0, preds_ = 0;
};

/// Register assignment of the steps (linear scan; a result never shares a register with an
/// operand of its own step, which max, min and select rely on).
struct Registers {
  std::vector<int> zmm;      ///< per value
  std::vector<int> kreg;     ///< per predicate
  std::vector<int> uni_zmm;  ///< per uniform slot: its register, or -1 (loaded when used)
};

bool allocate(const std::vector<Step>& steps, int32_t values, int32_t preds, size_t uni_slots,
              Registers& r) {
  std::vector<int32_t> last_val(static_cast<size_t>(values), -1),
      last_pred(static_cast<size_t>(preds), -1);
  std::vector<bool> uni_used(uni_slots, false);
  for (size_t i = 0; i < steps.size(); ++i) {
    for (const Arg& a : steps[i].src) {
      if (a.kind == Arg::Kind::Val) last_val[static_cast<size_t>(a.id)] = static_cast<int32_t>(i);
      if (a.kind == Arg::Kind::Pred) last_pred[static_cast<size_t>(a.id)] = static_cast<int32_t>(i);
      if (a.kind == Arg::Kind::Uni) uni_used[static_cast<size_t>(a.id)] = true;
    }
  }
  r.zmm.assign(static_cast<size_t>(values), -1);
  r.kreg.assign(static_cast<size_t>(preds), -1);
  std::vector<int> free_z, free_k;
  int used_z = 0, used_k = 0;
  auto take = [](std::vector<int>& free, int& used) {
    if (free.empty()) return used++;
    const int x = free.back();
    free.pop_back();
    return x;
  };
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    const bool defines = s.kind != Step::Kind::Store;
    const bool pred = s.kind == Step::Kind::Op && form_of(s.prim) == Form::Compare;
    if (defines) {
      if (pred)
        r.kreg[static_cast<size_t>(s.dst)] = take(free_k, used_k);
      else
        r.zmm[static_cast<size_t>(s.dst)] = take(free_z, used_z);
    }
    // Free after the result is placed, so that it never overlaps an operand.
    for (size_t j = 0; j < s.src.size(); ++j) {
      const Arg& a = s.src[j];
      bool repeated = false;
      for (size_t k = 0; k < j; ++k)
        repeated = repeated || (s.src[k].kind == a.kind && s.src[k].id == a.id);
      if (repeated) continue;
      if (a.kind == Arg::Kind::Val &&
          last_val[static_cast<size_t>(a.id)] == static_cast<int32_t>(i))
        free_z.push_back(r.zmm[static_cast<size_t>(a.id)]);
      if (a.kind == Arg::Kind::Pred &&
          last_pred[static_cast<size_t>(a.id)] == static_cast<int32_t>(i))
        free_k.push_back(r.kreg[static_cast<size_t>(a.id)]);
    }
    if (defines && pred && last_pred[static_cast<size_t>(s.dst)] < 0)
      free_k.push_back(r.kreg[static_cast<size_t>(s.dst)]);
    if (defines && !pred && last_val[static_cast<size_t>(s.dst)] < 0)
      free_z.push_back(r.zmm[static_cast<size_t>(s.dst)]);
  }
  if (used_z > kValueZmms || used_k > kPredKs) return false;
  for (int& k : r.kreg) k += kFirstPredK;
  int uni_count = 0;
  for (bool u : uni_used) uni_count += u ? 1 : 0;
  r.uni_zmm.assign(uni_slots, -1);
  if (used_z + uni_count <= kValueZmms) {
    int next = kValueZmms - 1;
    for (size_t u = 0; u < uni_slots; ++u)
      if (uni_used[u]) r.uni_zmm[u] = next--;
  }
  return true;
}

/// Base pointer registers for buffers: these first, the rest loaded from the frame when used.
const Xbyak::Reg64* const kPointerRegs[] = {&Xbyak::util::r9,  &Xbyak::util::r10, &Xbyak::util::rbx,
                                            &Xbyak::util::rbp, &Xbyak::util::r12, &Xbyak::util::r13,
                                            &Xbyak::util::r14, &Xbyak::util::r15};

class Generator : public Xbyak::CodeGenerator {
 public:
  Generator(const std::vector<Step>& steps, const Registers& regs)
      : Xbyak::CodeGenerator(4096 + steps.size() * 2 * 160, Xbyak::DontSetProtectRWE),
        steps_(steps),
        regs_(regs) {
    emit();
    ready();
    setProtectModeRE();  // written, now executable and no longer writable
  }

 private:
  // System V arguments: rdi = leaf pointers, rsi = output pointers, rdx = uniforms, rcx = begin,
  // r8 = end. rcx and r8 become byte offsets; r11 is the last full vector's offset; rax is the
  // scratch of pointers loaded per access and of the tail mask.
  void emit() {
    using namespace Xbyak::util;  // NOLINT(google-build-using-namespace): register names
    // Buffers in first-use order get the pointer registers.
    for (const Step& s : steps_) {
      if (s.kind == Step::Kind::Op) continue;
      const bool out = s.kind == Step::Kind::Store;
      auto& map = out ? out_reg_ : leaf_reg_;
      if (map.size() <= static_cast<size_t>(s.buffer))
        map.resize(static_cast<size_t>(s.buffer) + 1, -2);
      if (map[static_cast<size_t>(s.buffer)] != -2) continue;
      map[static_cast<size_t>(s.buffer)] = next_ptr_ < 8 ? next_ptr_++ : -1;
    }
    const int saved = std::max(0, next_ptr_ - 2);  // r9 and r10 are caller-saved
    for (int i = 0; i < saved; ++i) push(*kPointerRegs[2 + i]);
    for (size_t b = 0; b < leaf_reg_.size(); ++b)
      if (leaf_reg_[b] >= 0) mov(*kPointerRegs[leaf_reg_[b]], ptr[rdi + b * 8]);
    for (size_t b = 0; b < out_reg_.size(); ++b)
      if (out_reg_[b] >= 0) mov(*kPointerRegs[out_reg_[b]], ptr[rsi + b * 8]);
    for (size_t u = 0; u < regs_.uni_zmm.size(); ++u)
      if (regs_.uni_zmm[u] >= 0)
        vbroadcastss(Xbyak::Zmm(regs_.uni_zmm[u]), ptr[rdx + u * kUniBytes]);
    shl(rcx, 2);
    shl(r8, 2);
    lea(r11, ptr[r8 - kVectorBytes]);
    Xbyak::Label full, tail, done;
    L(full);
    cmp(rcx, r11);
    jg(tail, T_NEAR);
    body(false);
    add(rcx, kVectorBytes);
    jmp(full, T_NEAR);
    L(tail);
    mov(rax, r8);
    sub(rax, rcx);
    jle(done, T_NEAR);
    shr(rax, 2);
    mov(r11d, 0xFFFF);
    bzhi(r11d, r11d, eax);
    kmovw(k1, r11d);
    body(true);
    L(done);
    vzeroupper();
    for (int i = saved; i-- > 0;) pop(*kPointerRegs[2 + i]);
    ret();
    align(4);
    L(sign_);
    dd(0x80000000u);
    L(magnitude_);
    dd(0x7FFFFFFFu);
  }

  Xbyak::Address buffer(bool out, int32_t b) {
    using namespace Xbyak::util;  // NOLINT(google-build-using-namespace)
    const int reg = (out ? out_reg_ : leaf_reg_)[static_cast<size_t>(b)];
    if (reg >= 0) return ptr[*kPointerRegs[reg] + rcx];
    mov(rax, ptr[(out ? rsi : rdi) + b * 8]);
    return ptr[rax + rcx];
  }

  Xbyak::Zmm zmm(int32_t value) const { return Xbyak::Zmm(regs_.zmm[static_cast<size_t>(value)]); }

  /// An operand in a register: uniforms without one are broadcast into scratch register `which`.
  Xbyak::Zmm reg(const Arg& a, int which) {
    if (a.kind == Arg::Kind::Val) return zmm(a.id);
    const int u = regs_.uni_zmm[static_cast<size_t>(a.id)];
    if (u >= 0) return Xbyak::Zmm(u);
    const Xbyak::Zmm s(kScratchZmm + which);
    vbroadcastss(s, uni(a.id));
    return s;
  }
  Xbyak::Address uni(int32_t slot) const {
    return Xbyak::util::ptr[Xbyak::util::rdx + slot * kUniBytes];
  }
  bool in_memory(const Arg& a) const {
    return a.kind == Arg::Kind::Uni && regs_.uni_zmm[static_cast<size_t>(a.id)] < 0;
  }

  /// f(operand) with a second operand: a register, or an embedded broadcast {1to16} of a uniform.
  template <class F>
  void second(const Arg& b, F f) {
    if (in_memory(b)) {
      f(Xbyak::util::ptr_b[Xbyak::util::rdx + b.id * kUniBytes]);
    } else {
      f(reg(b, 1));
    }
  }

  /// d = a (under mask k when given).
  void move(const Xbyak::Zmm& d, const Arg& a, const Xbyak::Opmask* k = nullptr) {
    if (in_memory(a)) {
      if (k != nullptr)
        vbroadcastss(d | *k, uni(a.id));
      else
        vbroadcastss(d, uni(a.id));
    } else if (k != nullptr) {
      vmovaps(d | *k, reg(a, 0));
    } else {
      vmovaps(d, reg(a, 0));
    }
  }

  void body(bool masked) {
    const Xbyak::Opmask tail(1);
    for (const Step& s : steps_) {
      switch (s.kind) {
        case Step::Kind::Load: {
          const Xbyak::Address a = buffer(false, s.buffer);
          if (masked)
            vmovups(zmm(s.dst) | tail | T_z, a);
          else
            vmovups(zmm(s.dst), a);
          break;
        }
        case Step::Kind::Store: {
          const Xbyak::Zmm v = reg(s.src[0], 0);
          const Xbyak::Address a = buffer(true, s.buffer);
          if (masked)
            vmovups(a | tail, v);
          else
            vmovups(a, v);
          break;
        }
        case Step::Kind::Op:
          op(s);
          break;
      }
    }
  }

  void op(const Step& s) {
    using namespace Xbyak::util;  // NOLINT(google-build-using-namespace)
    const Form form = form_of(s.prim);
    if (form == Form::Compare) {
      const Xbyak::Opmask k(regs_.kreg[static_cast<size_t>(s.dst)]);
      const Xbyak::Zmm a = reg(s.src[0], 0);
      second(s.src[1], [&](const Xbyak::Operand& b) { vcmpps(k, a, b, compare_imm(s.prim)); });
      return;
    }
    const Xbyak::Zmm d = zmm(s.dst);
    switch (form) {
      case Form::Arith: {
        // When both operands are NaN the result is the first source's: the order the
        // interpreter's loop has (commuted_nan).
        const bool swap =
            (s.prim == Prim::add || s.prim == Prim::multiply) &&
            commuted_nan(s.prim, s.src[0].kind == Arg::Kind::Uni, s.src[1].kind == Arg::Kind::Uni);
        const Arg& first = s.src[swap ? 1 : 0];
        const Xbyak::Zmm a = reg(first, 0);
        second(s.src[swap ? 0 : 1], [&](const Xbyak::Operand& b) {
          switch (s.prim) {
            case Prim::add:
              return vaddps(d, a, b);
            case Prim::subtract:
              return vsubps(d, a, b);
            case Prim::multiply:
              return vmulps(d, a, b);
            default:
              return vdivps(d, a, b);
          }
        });
        return;
      }
      case Form::Sqrt:
        return vsqrtps(d, reg(s.src[0], 0));
      case Form::Negate:
        return vpxord(d, reg(s.src[0], 0), ptr_b[rip + sign_]);
      case Form::Abs:
        return vpandd(d, reg(s.src[0], 0), ptr_b[rip + magnitude_]);
      case Form::Extreme: {
        // op::Max: a > b ? a : b; a == b ? bits(a) & bits(b) (+0 beats -0); then op::nan_first:
        // a + a where a is NaN, else b + b where b is. op::Min likewise with <, |.
        const bool is_max = s.prim == Prim::max;
        const Xbyak::Opmask k(2);
        const Xbyak::Zmm a = reg(s.src[0], 0);
        second(s.src[1], [&](const Xbyak::Operand& b) {
          move(d, s.src[1]);
          vcmpps(k, d, d, kUnordQ);
          vaddps(d | k, d, d);
          vcmpps(k, a, b, is_max ? kGtOq : kLtOq);
          vmovaps(d | k, a);
          vcmpps(k, a, b, kEqOq);
          if (is_max)
            vpandd(d | k, a, b);
          else
            vpord(d | k, a, b);
          vcmpps(k, a, a, kUnordQ);
          vaddps(d | k, a, a);
        });
        return;
      }
      case Form::Select: {
        const Xbyak::Opmask c(regs_.kreg[static_cast<size_t>(s.src[0].id)]);
        move(d, s.src[2]);
        move(d, s.src[1], &c);
        return;
      }
      default:
        throw Unsupported{};
    }
  }

  const std::vector<Step> steps_;
  const Registers regs_;
  std::vector<int> leaf_reg_, out_reg_;  ///< pointer register index, -1 loaded per access
  int next_ptr_ = 0;
  Xbyak::Label sign_, magnitude_;
};

/// The cache key of a kernel: its steps (they determine the code).
std::string key_of(const std::vector<Step>& steps) {
  std::string k;
  auto put = [&](int32_t x) { k.append(reinterpret_cast<const char*>(&x), sizeof(x)); };
  for (const Step& s : steps) {
    put(static_cast<int32_t>(s.kind));
    put(static_cast<int32_t>(s.prim));
    put(s.dst);
    put(s.buffer);
    for (const Arg& a : s.src) {
      put(static_cast<int32_t>(a.kind));
      put(a.id);
    }
  }
  return k;
}

bool cpu_supported() {
  static const bool ok = [] {
    const Xbyak::util::Cpu cpu;
    return cpu.has(Xbyak::util::Cpu::tAVX512F) && cpu.has(Xbyak::util::Cpu::tBMI2);
  }();
  return ok;
}

}  // namespace

NativeKernel compile_native(const Program& p) {
  if (!cpu_supported()) return {};
  std::vector<Step> steps;
  Registers regs;
  try {
    Lowering lowering(p);
    steps = lowering.run();
    if (!allocate(steps, lowering.values(), lowering.preds(), p.uni_leaf.size(), regs)) return {};
  } catch (const Unsupported&) {
    return {};
  }
  static std::mutex mu;
  static std::unordered_map<std::string, NativeKernel> cache;
  const std::string key = key_of(steps);
  const std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  NativeKernel k;
  try {
    auto gen = std::make_shared<Generator>(steps, regs);
    k.fn = gen->getCode<NativeFn>();
    k.code = std::move(gen);
  } catch (const Xbyak::Error&) {
    return {};
  }
  cache.emplace(key, k);
  return k;
}

void set_native_code(bool on) {
  g_native.store(on, std::memory_order_relaxed);
}
bool native_code() {
  return g_native.load(std::memory_order_relaxed);
}

}  // namespace nx::cpu::fused
