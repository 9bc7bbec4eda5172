// compile_program: a Fused node's program graph -> instructions (see fused_program.hpp).
#include "fused_program.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include "../../core/primitive.hpp"

namespace nx::cpu::fused {

namespace {

using detail::Graph;
using detail::Node;
using detail::NodeKind;
using detail::PrimGroup;

/// Thrown inside the compiler when the program holds something tiles cannot run.
struct Unsupported {};

void require(bool ok) {
  if (!ok) throw Unsupported{};
}

std::vector<int64_t> row_major(const Shape& s) {
  std::vector<int64_t> st(s.size());
  int64_t e = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = e;
    e *= s[i];
  }
  return st;
}

/// Whether a view walks its leaf in row-major order (size-1 axes have any stride).
bool is_contiguous(const Shape& dims, const std::vector<int64_t>& strides) {
  int64_t expected = 1;
  for (size_t i = dims.size(); i-- > 0;) {
    if (dims[i] == 1) continue;
    if (strides[i] != expected) return false;
    expected *= dims[i];
  }
  return true;
}

/// Whether a view reads one element everywhere.
bool is_uniform(const Shape& dims, const std::vector<int64_t>& strides) {
  for (size_t i = 0; i < dims.size(); ++i)
    if (dims[i] != 1 && strides[i] != 0) return false;
  return true;
}

/// A program value (see the file comment of fused_program.hpp).
struct Value {
  enum class Kind : uint8_t { None, View, Flat, Uni, Red };
  Kind kind = Kind::None;
  Ref ref;                       ///< Flat, Uni
  int32_t leaf = -1;             ///< View
  Shape shape;                   ///< View
  std::vector<int64_t> strides;  ///< View
  int32_t reduction = -1;        ///< Red
};

struct VReg {
  int32_t esize = 0;
  int32_t bound_out = -1;  ///< the output it is computed into, when any
};

class Compiler {
 public:
  explicit Compiler(const Graph& g) : g_(g), vals_(g.num_values()) {}

  std::unique_ptr<Program> compile() {
    p_ = std::make_unique<Program>();
    p_->num_inputs = static_cast<int32_t>(g_.inputs.size());
    p_->n = domain_size();
    for (size_t i = 0; i < g_.inputs.size(); ++i)
      p_->leaf_esize.push_back(byte_size(g_.type(g_.inputs[i]).dtype));
    for (const Node& n : g_.nodes) node(n);
    outputs();
    finish();
    return std::move(p_);
  }

 private:
  int64_t domain_size() const {
    int64_t n = -1;
    for (const Node& nd : g_.nodes) {
      if (nd.kind != NodeKind::Prim) continue;
      const bool reduce = detail::info(nd.prim).group == PrimGroup::Reduce;
      n = std::max(n, num_elements(g_.type(reduce ? nd.in[0] : nd.out[0]).shape));
    }
    if (n < 0) {
      for (int32_t v : g_.outputs) n = std::max(n, num_elements(g_.type(v).shape));
    }
    return std::max<int64_t>(n, 0);
  }

  Ref new_reg(DType t) {
    vregs_.push_back({byte_size(t), -1});
    return Ref{Ref::Kind::Reg, static_cast<int32_t>(vregs_.size() - 1)};
  }
  Ref new_uni(DType t, int32_t leaf) {
    p_->uni_leaf.push_back(leaf);
    p_->uni_esize.push_back(byte_size(t));
    return Ref{Ref::Kind::Uni, static_cast<int32_t>(p_->uni_leaf.size() - 1)};
  }
  Ref leaf_uniform(int32_t leaf, DType t) {
    auto it = leaf_uni_.find(leaf);
    if (it != leaf_uni_.end()) return it->second;
    Ref r = new_uni(t, leaf);
    leaf_uni_.emplace(leaf, r);
    return r;
  }

  /// Value v as an operand of an operation whose result has shape `out` (numpy broadcasting).
  Ref operand(int32_t v, const Shape& out) {
    Value& x = vals_[static_cast<size_t>(v)];
    switch (x.kind) {
      case Value::Kind::Flat:
        require(num_elements(out) == p_->n);
        return x.ref;
      case Value::Kind::Uni:
        return x.ref;
      case Value::Kind::View: {
        require(x.shape.size() <= out.size());
        const size_t lead = out.size() - x.shape.size();
        std::vector<int64_t> st(out.size(), 0);
        for (size_t i = 0; i < x.shape.size(); ++i) {
          require(x.shape[i] == out[lead + i] || x.shape[i] == 1);
          st[lead + i] = x.shape[i] == 1 ? 0 : x.strides[i];
        }
        const DType t = g_.type(v).dtype;
        if (is_uniform(out, st)) return leaf_uniform(x.leaf, t);
        require(num_elements(out) == p_->n);
        if (is_contiguous(out, st)) return Ref{Ref::Kind::Leaf, x.leaf};
        return gather(x.leaf, t, out, st);
      }
      default:
        throw Unsupported{};
    }
  }

  Ref gather(int32_t leaf, DType t, const Shape& dims, const std::vector<int64_t>& strides) {
    // Collapse: drop size-1 axes, merge an axis into the next when it steps over it exactly.
    std::vector<int64_t> d, s;
    for (size_t i = 0; i < dims.size(); ++i) {
      if (dims[i] == 1) continue;
      if (!d.empty() && s.back() == strides[i] * dims[i]) {
        d.back() *= dims[i];
        s.back() = strides[i];
      } else {
        d.push_back(dims[i]);
        s.push_back(strides[i]);
      }
    }
    require(d.size() <= 32);  // fused_run.cpp walks at most this many axes
    auto key = std::make_tuple(leaf, d, s);
    auto it = gathers_.find(key);
    if (it != gathers_.end()) return it->second;
    p_->gathers.push_back(GatherPlan{leaf, byte_size(t), d, s});
    Ref r = new_reg(t);
    Instr ins;
    ins.op = Instr::Op::Gather;
    ins.gather = static_cast<int32_t>(p_->gathers.size() - 1);
    ins.esize = byte_size(t);
    ins.dst = r;
    body_.push_back(ins);
    gathers_.emplace(key, r);
    return r;
  }

  Value& val(int32_t v) { return vals_[static_cast<size_t>(v)]; }

  void node(const Node& n) {
    switch (n.kind) {
      case NodeKind::Param: {
        Value& x = val(n.out[0]);
        x.kind = Value::Kind::View;
        x.leaf = n.index;
        x.shape = g_.type(n.out[0]).shape;
        x.strides = row_major(x.shape);
        return;
      }
      case NodeKind::Constant: {
        Value& x = val(n.out[0]);
        x.kind = Value::Kind::View;
        x.leaf = p_->num_inputs + static_cast<int32_t>(p_->constants.size());
        p_->constants.push_back(n.constant);
        p_->leaf_esize.push_back(byte_size(n.constant.dtype()));
        x.shape = n.constant.shape();
        x.strides = row_major(x.shape);
        return;
      }
      case NodeKind::Prim:
        prim(n);
        return;
      default:
        throw Unsupported{};
    }
  }

  void prim(const Node& n) {
    const Shape& out_shape = g_.type(n.out[0]).shape;
    const DType out_t = g_.type(n.out[0]).dtype;
    const PrimGroup group = detail::info(n.prim).group;
    if (n.prim == Prim::broadcast_in_dim) return broadcast(n);
    if (n.prim == Prim::reshape) return reshape(n);
    if (group == PrimGroup::Reduce) return reduce(n);
    require(detail::is_elementwise(n.prim));
    if (n.prim == Prim::bitcast) {
      // The same bits under another dtype of the same width: the value itself.
      Value x = val(n.in[0]);
      require(x.kind != Value::Kind::Red && x.kind != Value::Kind::None);
      val(n.out[0]) = x;
      return;
    }
    const DType in_t = g_.type(n.in[n.prim == Prim::select ? 1 : 0]).dtype;
    std::array<Ref, 3> src{};
    bool all_uni = true;
    for (size_t i = 0; i < n.in.size(); ++i) {
      src[i] = operand(n.in[i], out_shape);
      all_uni = all_uni && src[i].kind == Ref::Kind::Uni;
    }
    Instr ins;
    if (n.prim == Prim::select) {
      ins.op = Instr::Op::Select;
      ins.select = select_loop(in_t, all_uni || src[0].kind == Ref::Kind::Uni,
                               all_uni || src[1].kind == Ref::Kind::Uni,
                               all_uni || src[2].kind == Ref::Kind::Uni);
    } else if (group == PrimGroup::Binary || group == PrimGroup::Compare) {
      ew::BinaryLoops loops = binary_loops(n.prim, in_t);
      require(loops.vv != nullptr);
      ins.op = Instr::Op::Binary;
      const bool a1 = src[0].kind == Ref::Kind::Uni, b1 = src[1].kind == Ref::Kind::Uni;
      ins.binary = all_uni ? loops.vv : a1 ? loops.sv : b1 ? loops.vs : loops.vv;
    } else if (n.prim == Prim::convert) {
      ins.op = Instr::Op::Unary;
      ins.unary = convert_loop(in_t, out_t);
    } else {
      ins.op = Instr::Op::Unary;
      ins.unary = unary_loop(n.prim, in_t);
      require(ins.unary != nullptr);
    }
    ins.prim = n.prim;
    ins.dtype = in_t;
    ins.src = src;
    Value& r = val(n.out[0]);
    if (all_uni) {
      ins.dst = new_uni(out_t, -1);
      p_->prologue.push_back(ins);
      r.kind = Value::Kind::Uni;
    } else {
      require(num_elements(out_shape) == p_->n);
      ins.dst = new_reg(out_t);
      body_.push_back(ins);
      r.kind = Value::Kind::Flat;
    }
    r.ref = ins.dst;
  }

  void broadcast(const Node& n) {
    const auto& bp = std::get<detail::BroadcastParams>(n.params);
    Value x = val(n.in[0]);
    Value& r = val(n.out[0]);
    if (x.kind == Value::Kind::View) {
      std::vector<int64_t> st(bp.shape.size(), 0);
      for (size_t i = 0; i < bp.axes.size(); ++i) {
        const size_t ax = static_cast<size_t>(bp.axes[i]);
        st[ax] = x.shape[i] == bp.shape[ax] ? x.strides[i] : 0;
      }
      r = x;
      r.shape = bp.shape;
      r.strides = std::move(st);
      return;
    }
    require(x.kind == Value::Kind::Uni ||
            (x.kind == Value::Kind::Flat && num_elements(bp.shape) == p_->n));
    r = x;
  }

  void reshape(const Node& n) {
    const Shape& to = std::get<detail::ReshapeParams>(n.params).shape;
    Value x = val(n.in[0]);
    Value& r = val(n.out[0]);
    if (x.kind == Value::Kind::View) {
      if (is_contiguous(x.shape, x.strides)) {
        r = x;
        r.shape = to;
        r.strides = row_major(to);
        return;
      }
      if (is_uniform(x.shape, x.strides)) {
        r = x;
        r.shape = to;
        r.strides.assign(to.size(), 0);
        return;
      }
      r.kind = Value::Kind::Flat;
      r.ref = operand(n.in[0], x.shape);  // a broadcast view, gathered in its own shape
      return;
    }
    require(x.kind == Value::Kind::Uni || x.kind == Value::Kind::Flat);
    r = x;
  }

  void reduce(const Node& n) {
    require(n.prim == Prim::reduce_sum || n.prim == Prim::reduce_prod ||
            n.prim == Prim::reduce_max || n.prim == Prim::reduce_min);
    const TensorType& in = g_.type(n.in[0]);
    require(num_elements(in.shape) == p_->n);
    ReduceFns fns = reduce_fns(n.prim, in.dtype);
    require(fns.acc_size != 0);
    const auto& axes = std::get<detail::AxesParams>(n.params).axes;
    ReduceLayout layout;
    int64_t rows = 0, len = 0;
    require(reduce_layout(in.shape, axes, layout, rows, len));
    if (p_->layout == ReduceLayout::None) {
      p_->layout = layout;
      p_->red_rows = rows;
      p_->red_len = len;
    } else {
      require(p_->layout == layout && p_->red_rows == rows && p_->red_len == len);
    }
    Ref src = operand(n.in[0], in.shape);
    if (src.kind == Ref::Kind::Uni) {
      Instr fill;
      fill.op = Instr::Op::Fill;
      fill.esize = byte_size(in.dtype);
      fill.src[0] = src;
      fill.dst = new_reg(in.dtype);
      body_.push_back(fill);
      src = fill.dst;
    }
    Reduction red;
    red.fns = fns;
    red.src = src;
    red.out_esize = byte_size(g_.type(n.out[0]).dtype);
    p_->reductions.push_back(red);
    Value& r = val(n.out[0]);
    r.kind = Value::Kind::Red;
    r.reduction = static_cast<int32_t>(p_->reductions.size() - 1);
  }

  void outputs() {
    // A reduction's result may only be an output (nothing in the program reads it).
    for (const Node& n : g_.nodes)
      for (int32_t v : n.in) require(val(v).kind != Value::Kind::Red);
    for (size_t j = 0; j < g_.outputs.size(); ++j) {
      const int32_t v = g_.outputs[j];
      const TensorType& t = g_.type(v);
      const int32_t oj = static_cast<int32_t>(j);
      const int64_t size = num_elements(t.shape);
      p_->out_esize.push_back(byte_size(t.dtype));
      p_->out_size.push_back(size);
      Value& x = val(v);
      const Ref out{Ref::Kind::Out, oj};
      if (x.kind == Value::Kind::Red) {
        Reduction& red = p_->reductions[static_cast<size_t>(x.reduction)];
        require(red.out < 0);
        red.out = oj;
        continue;
      }
      Ref src;
      if (x.kind == Value::Kind::Uni || x.kind == Value::Kind::Flat) {
        src = x.ref;
      } else if (x.kind == Value::Kind::View) {
        if (is_uniform(x.shape, x.strides)) {
          src = leaf_uniform(x.leaf, t.dtype);
        } else {
          src = operand(v, t.shape);
        }
      } else {
        throw Unsupported{};
      }
      if (src.kind == Ref::Kind::Uni && size != p_->n) {
        p_->once.emplace_back(oj, src.index);
        continue;
      }
      require(size == p_->n);
      if (src.kind == Ref::Kind::Reg && vregs_[static_cast<size_t>(src.index)].bound_out < 0 &&
          vregs_[static_cast<size_t>(src.index)].esize == byte_size(t.dtype)) {
        vregs_[static_cast<size_t>(src.index)].bound_out = oj;
        continue;
      }
      Instr ins;
      ins.op = src.kind == Ref::Kind::Uni ? Instr::Op::Fill : Instr::Op::Copy;
      ins.esize = byte_size(t.dtype);
      ins.src[0] = src;
      ins.dst = out;
      tail_.push_back(ins);
    }
    for (const Reduction& r : p_->reductions) require(r.out >= 0);
  }

  /// Physical registers for one instruction list; bound registers become their outputs when
  /// `bind` (else they are copied out at the end). Rewrites refs in place.
  std::vector<Instr> allocate(bool bind, std::vector<Ref>& red_src, int64_t& slots) {
    std::vector<Instr> list = body_;
    list.insert(list.end(), tail_.begin(), tail_.end());
    if (!bind) {
      for (size_t v = 0; v < vregs_.size(); ++v) {
        if (vregs_[v].bound_out < 0) continue;
        Instr c;
        c.op = Instr::Op::Copy;
        c.esize = vregs_[v].esize;
        c.src[0] = Ref{Ref::Kind::Reg, static_cast<int32_t>(v)};
        c.dst = Ref{Ref::Kind::Out, vregs_[v].bound_out};
        list.push_back(c);
      }
    }
    const int32_t end = static_cast<int32_t>(list.size());
    std::vector<int32_t> last(vregs_.size(), -1);
    for (int32_t i = 0; i < end; ++i)
      for (const Ref& s : list[static_cast<size_t>(i)].src)
        if (s.kind == Ref::Kind::Reg) last[static_cast<size_t>(s.index)] = i;
    for (const Reduction& r : p_->reductions)
      if (r.src.kind == Ref::Kind::Reg) last[static_cast<size_t>(r.src.index)] = end;
    std::vector<int32_t> phys(vregs_.size(), -1), free;
    int32_t used = 0;
    auto map = [&](Ref& r) {
      if (r.kind != Ref::Kind::Reg) return;
      const VReg& vr = vregs_[static_cast<size_t>(r.index)];
      if (bind && vr.bound_out >= 0) {
        r = Ref{Ref::Kind::Out, vr.bound_out};
        return;
      }
      r.index = phys[static_cast<size_t>(r.index)];
    };
    for (int32_t i = 0; i < end; ++i) {
      Instr& ins = list[static_cast<size_t>(i)];
      if (ins.dst.kind == Ref::Kind::Reg) {
        const size_t v = static_cast<size_t>(ins.dst.index);
        const bool to_out = bind && vregs_[v].bound_out >= 0;
        if (!to_out && phys[v] < 0) {
          if (free.empty()) {
            phys[v] = used++;
          } else {
            phys[v] = free.back();
            free.pop_back();
          }
        }
      }
      // Free after the destination is chosen, so that it never overlaps an operand.
      std::vector<int32_t> dying;
      for (const Ref& s : ins.src)
        if (s.kind == Ref::Kind::Reg && last[static_cast<size_t>(s.index)] == i)
          dying.push_back(s.index);
      if (ins.dst.kind == Ref::Kind::Reg && last[static_cast<size_t>(ins.dst.index)] < 0)
        dying.push_back(ins.dst.index);
      std::sort(dying.begin(), dying.end());
      dying.erase(std::unique(dying.begin(), dying.end()), dying.end());
      for (int32_t v : dying)
        if (phys[static_cast<size_t>(v)] >= 0) free.push_back(phys[static_cast<size_t>(v)]);
      map(ins.dst);
      for (Ref& s : ins.src) map(s);
    }
    red_src.clear();
    for (const Reduction& r : p_->reductions) {
      Ref s = r.src;
      map(s);
      red_src.push_back(s);
    }
    slots = std::max<int64_t>(slots, used);
    return list;
  }

  void finish() {
    int64_t slots = 0;
    std::vector<Ref> fast_src, safe_src;
    p_->body = allocate(true, fast_src, slots);
    p_->body_safe = allocate(false, safe_src, slots);
    p_->red_src = std::move(fast_src);
    p_->safe_red_src = std::move(safe_src);
    int32_t esize = 1;
    for (const VReg& v : vregs_) esize = std::max(esize, v.esize);
    // Registers of a tile in half of a 32 KiB L1, leaving room for the streamed operands.
    constexpr int64_t kBudget = 16384;
    int64_t tile = 4096;
    while (tile > 256 && slots * tile * esize > kBudget) tile /= 2;
    p_->tile = tile;
    p_->slots = slots;
    p_->slot_bytes = (tile * esize + 63) / 64 * 64;
  }

  const Graph& g_;
  std::vector<Value> vals_;
  std::vector<VReg> vregs_;
  std::vector<Instr> body_, tail_;
  std::map<int32_t, Ref> leaf_uni_;
  std::map<std::tuple<int32_t, std::vector<int64_t>, std::vector<int64_t>>, Ref> gathers_;
  std::unique_ptr<Program> p_;
};

}  // namespace

bool reduce_layout(const Shape& in, const Axes& axes, ReduceLayout& layout, int64_t& rows,
                   int64_t& len) {
  std::vector<bool> reduced(in.size(), false);
  for (int64_t a : axes) reduced[static_cast<size_t>(a)] = true;
  int64_t kept_n = 1, red_n = 1, switches = 0;
  bool first_reduced = false, have = false, last = false;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == 1) continue;
    (reduced[i] ? red_n : kept_n) *= in[i];
    if (!have) {
      first_reduced = reduced[i];
      have = true;
    } else if (reduced[i] != last) {
      ++switches;
    }
    last = reduced[i];
  }
  if (switches > 1) return false;
  layout = (switches == 1 && first_reduced) ? ReduceLayout::Leading : ReduceLayout::Trailing;
  rows = layout == ReduceLayout::Trailing ? kept_n : red_n;
  len = layout == ReduceLayout::Trailing ? red_n : kept_n;
  return true;
}

bool can_reduce(Prim p, const TensorType& in, const Axes& axes) {
  if (p != Prim::reduce_sum && p != Prim::reduce_prod && p != Prim::reduce_max &&
      p != Prim::reduce_min)
    return false;
  ReduceLayout layout;
  int64_t rows = 0, len = 0;
  return reduce_fns(p, in.dtype).acc_size != 0 && reduce_layout(in.shape, axes, layout, rows, len);
}

std::unique_ptr<Program> compile_program(const Graph& g, bool native) {
  try {
    std::unique_ptr<Program> p = Compiler(g).compile();
    if (native) p->native = compile_native(*p);
    return p;
  } catch (const Unsupported&) {
    return nullptr;
  }
}

}  // namespace nx::cpu::fused
