// Epilogue kernels: a contraction plus bias and post-ops as one oneDNN
// primitive (see fused_dnnl.hpp for the programs it takes; fused_dnnl_plan.cpp
// reads them).
#include "fused_dnnl.hpp"

#include <mutex>
#include <optional>

#include "../../core/tensor_impl.hpp"
#include "dnnl_common.hpp"
#include "fused_dnnl_plan.hpp"

namespace nx::cpu::fused {

namespace {

using detail::Graph;

// ---- primitives
// --------------------------------------------------------------------------------

/// A layout oneDNN computes in, with a reorder from/to ours when they differ
/// (as dnnl_conv.cpp).
struct Reordered {
  memory::desc plain, native;
  std::optional<dnnl::reorder> reorder;
  memory::desc scratchpad;
};

Reordered make_reordered(const memory::desc& plain, const memory::desc& native, bool to_native) {
  Reordered r{plain, native, std::nullopt, memory::desc()};
  if (plain == native) return r;
  const memory::desc& from = to_native ? plain : native;
  const memory::desc& to = to_native ? native : plain;
  dnnl::reorder::primitive_desc pd(dnnl_util::engine(), from, dnnl_util::engine(), to,
                                   dnnl_util::default_attr());
  r.reorder = dnnl::reorder(pd);
  r.scratchpad = pd.scratchpad_desc();
  return r;
}

struct Entry {
  dnnl::primitive primitive;
  memory::desc scratchpad;
  Reordered src, weights, dst;
  std::optional<memory::desc> bias;
  std::vector<memory::desc> src1;  ///< per binary post-op
};

dnnl_util::PrimitiveCache<Entry>& cache() {
  static dnnl_util::PrimitiveCache<Entry> c(256);
  return c;
}

memory::desc md(const memory::dims& dims, memory::data_type dt, const memory::dims& strides) {
  return memory::desc(dims, dt, strides);
}

// Whether `m` is a dense channels-last layout ([n, c, sp..] stored as n, sp.., c).
bool is_nxc(const memory::desc& m) {
  const memory::dims dims = m.dims();
  using tag = memory::format_tag;
  const tag t = dims.size() == 3 ? tag::nwc : dims.size() == 4 ? tag::nhwc : tag::ndhwc;
  return dims.size() >= 3 && dims.size() <= 5 && m == memory::desc(dims, m.data_type(), t);
}

// packed_weights (a matmul's 2-D weights): the primitive reads them in the layout oneDNN
// prefers, reordered from ours (null when that is ours anyway).
std::shared_ptr<const Entry> make_entry(const Plan& plan, bool packed_weights = false) {
  const memory::data_type dt = dnnl_util::to_dnnl(plan.dtype);
  dnnl::post_ops po;
  std::vector<memory::desc> src1;
  for (const PostOp& p : plan.posts) {
    if (p.binary) {
      src1.push_back(md(p.src1.dims, dt, p.src1.strides));
      po.append_binary(p.alg, src1.back());
    } else {
      po.append_eltwise(1.0f, p.alg, p.alpha, p.beta);
    }
  }
  dnnl::primitive_attr attr = dnnl_util::default_attr();
  attr.set_post_ops(po);
  const auto& eng = dnnl_util::engine();
  std::optional<memory::desc> bias;
  if (plan.bias) bias = md(plan.bias->dims, dt, plan.bias->strides);
  try {
    if (!plan.conv) {
      memory::desc a = md(plan.a_dims, dt, plan.a_strides);
      memory::desc b = md(plan.b_dims, dt, plan.b_strides);
      memory::desc c = md(plan.c_dims, dt, plan.c_strides);
      const memory::desc w =
          packed_weights ? memory::desc(plan.b_dims, dt, memory::format_tag::any) : b;
      auto desc = bias ? dnnl::matmul::desc(a, w, *bias, c) : dnnl::matmul::desc(a, w, c);
      dnnl::matmul::primitive_desc pd(desc, attr, eng);
      if (!dnnl_util::is_optimized(pd) || (packed_weights && pd.weights_desc() == b))
        return nullptr;
      return std::make_shared<const Entry>(Entry{
          dnnl::matmul(pd), pd.scratchpad_desc(), Reordered{a, a, {}, {}},
          packed_weights ? make_reordered(b, pd.weights_desc(), true) : Reordered{b, b, {}, {}},
          Reordered{c, c, {}, {}}, bias, src1});
    }
    memory::desc src = md(plan.a_dims, dt, plan.a_strides);
    memory::desc w = md(plan.b_dims, dt, plan.b_strides);
    memory::desc dst = md(plan.c_dims, dt, plan.c_strides);
    // Channels-last activations (NHWC buffers, or transposed views of them) are given to oneDNN
    // as they are: its brgconv kernels read and write them in place, as fast as the blocked
    // layouts "any" picks, which our row-major NCHW tensors must be reordered into and back.
    const bool nxc = is_nxc(src) && is_nxc(dst);
    auto any = [&](const memory::dims& d) { return memory::desc(d, dt, memory::format_tag::any); };
    auto act = [&](const memory::desc& plain) { return nxc ? plain : any(plain.dims()); };
    // forward_training: the same result as inference without a workspace, and
    // oneDNN 2.6 then picks the blocked kernels that dnnl_conv.cpp measured
    // faster. Re-measured with weights reordered once per instance: inference
    // made MobileNetV2 b1 15-20% slower (its 1x1 convolutions) and ResNet-18 b1
    // no faster beyond noise (9.0-9.1 vs 8.7-9.3 ms).
    const auto prop = dnnl::prop_kind::forward_training;
    auto desc = bias ? dnnl::convolution_forward::desc(
                           prop, dnnl::algorithm::convolution_direct, act(src), any(plan.b_dims),
                           *bias, act(dst), plan.strides, plan.dilates, plan.pad_l, plan.pad_r)
                     : dnnl::convolution_forward::desc(
                           prop, dnnl::algorithm::convolution_direct, act(src), any(plan.b_dims),
                           act(dst), plan.strides, plan.dilates, plan.pad_l, plan.pad_r);
    dnnl::convolution_forward::primitive_desc pd(desc, attr, eng);
    if (!dnnl_util::is_optimized(pd)) return nullptr;
    return std::make_shared<const Entry>(
        Entry{dnnl::convolution_forward(pd), pd.scratchpad_desc(),
              make_reordered(src, pd.src_desc(), true), make_reordered(w, pd.weights_desc(), true),
              make_reordered(dst, pd.dst_desc(), false), bias, src1});
  } catch (const dnnl::error&) {
    return nullptr;  // no implementation for this problem or post-op combination
  }
}

// Where one run keeps its native (reordered) src and result and the
// scratchpads, when the scratch comes from the caller (compiled code's arena).
// Reordered weights live in the instance's own memory (EpilogueState), where
// they outlive the run.
struct Layout {
  size_t src = 0, src_pad = 0, weights_pad = 0, dst = 0, dst_pad = 0, pad = 0;
  size_t bytes = 0;
};

Layout layout_of(const Entry& e) {
  size_t at = 0;
  auto take = [&](const memory::desc& md) {
    const size_t here = at;
    at += (md.get_size() + 63) / 64 * 64;
    return here;
  };
  Layout l;
  if (e.src.reorder) l.src = take(e.src.native), l.src_pad = take(e.src.scratchpad);
  if (e.weights.reorder) l.weights_pad = take(e.weights.scratchpad);
  if (e.dst.reorder) l.dst = take(e.dst.native), l.dst_pad = take(e.dst.scratchpad);
  l.pad = take(e.scratchpad);
  l.bytes = at;
  return l;
}

// An instance's arguments, bound once over its scratch: only the operands' and
// the result's data handles change per run.
//
// The reordered weights stay valid across runs while the weights' contents do:
// a conv's weights are usually a compiled function's parameter or a constant,
// whose Buffer::id names its contents (nonzero, renewed when a donated buffer
// is overwritten), so a run whose weights carry the id of the last reorder
// skips it (on ResNet-18 at batch 1 the reorders were a fifth of the time).
struct EpilogueState final : detail::FusedState {
  std::optional<dnnl_util::BoundArgs> src_reorder, weights_reorder, dst_reorder;
  std::unique_ptr<detail::Buffer> weights;  ///< native weights, when they need a reorder
  dnnl_util::DerivedFrom weights_made;      ///< the contents they were reordered from
  dnnl_util::BoundArgs main;
  // Per-run arguments: (bound args, index, leaf or -1 for the result).
  struct Slot {
    dnnl_util::BoundArgs* args;
    size_t index;
    int32_t leaf;
  };
  std::vector<Slot> slots;
};

class EpilogueKernel final : public detail::FusedKernel {
 public:
  EpilogueKernel(std::shared_ptr<const Entry> e, Plan plan, std::vector<Tensor> constants,
                 int32_t num_inputs)
      : e_(std::move(e)),
        plan_(std::move(plan)),
        constants_(std::move(constants)),
        num_inputs_(num_inputs),
        layout_(layout_of(*e_)) {}

  void run(std::span<const Tensor> in, std::span<Tensor> out) const override {
    // A state per call: nothing carries over, so weights are reordered each time.
    dnnl_util::Scratch scratch;
    void* s = scratch.take(layout_.bytes);
    auto state = make_state(s);
    run_with(in, out, s, state.get());
  }

  size_t scratch_bytes() const override { return layout_.bytes; }

  /// The content id of the weights `in` give (Buffer::id; 0: none).
  uint64_t weights_id(std::span<const Tensor> in) const {
    return leaf(in, plan_.b).impl()->buffer->id();
  }

  std::unique_ptr<detail::FusedState> make_state(void* scratch) const override {
    auto* base = static_cast<std::byte*>(scratch);
    auto st = std::make_unique<EpilogueState>();
    const Entry& e = *e_;
    using Slot = EpilogueState::Slot;
    // An operand: read in place, or reordered into the scratch first.
    auto operand = [&](const Reordered& r, int arg, int32_t leaf, void* native, size_t pad,
                       std::optional<dnnl_util::BoundArgs>& reorder) {
      if (!r.reorder) {
        st->slots.push_back(Slot{&st->main, st->main.add(arg, r.plain), leaf});
        return;
      }
      reorder.emplace();
      st->slots.push_back(Slot{&*reorder, reorder->add(DNNL_ARG_FROM, r.plain), leaf});
      reorder->add(DNNL_ARG_TO, r.native, native);
      reorder->add(DNNL_ARG_SCRATCHPAD, r.scratchpad, base + pad);
      st->main.add(arg, r.native, native);
    };
    operand(e.src, DNNL_ARG_SRC, plan_.a, base + layout_.src, layout_.src_pad, st->src_reorder);
    if (e.weights.reorder)
      st->weights = std::make_unique<detail::Buffer>(e.weights.native.get_size());
    operand(e.weights, DNNL_ARG_WEIGHTS, plan_.b, st->weights ? st->weights->data() : nullptr,
            layout_.weights_pad, st->weights_reorder);
    if (!e.dst.reorder) {
      st->slots.push_back(Slot{&st->main, st->main.add(DNNL_ARG_DST, e.dst.plain), -1});
    } else {
      st->main.add(DNNL_ARG_DST, e.dst.native, base + layout_.dst);
      st->dst_reorder.emplace();
      st->dst_reorder->add(DNNL_ARG_FROM, e.dst.native, base + layout_.dst);
      st->slots.push_back(
          Slot{&*st->dst_reorder, st->dst_reorder->add(DNNL_ARG_TO, e.dst.plain), -1});
      st->dst_reorder->add(DNNL_ARG_SCRATCHPAD, e.dst.scratchpad, base + layout_.dst_pad);
    }
    if (plan_.bias) {
      st->slots.push_back(Slot{&st->main, st->main.add(DNNL_ARG_BIAS, *e.bias), plan_.bias->leaf});
    }
    size_t b = 0;
    for (size_t i = 0; i < plan_.posts.size(); ++i) {
      if (!plan_.posts[i].binary) continue;
      const int arg = DNNL_ARG_ATTR_MULTIPLE_POST_OP(static_cast<int>(i)) | DNNL_ARG_SRC_1;
      st->slots.push_back(
          Slot{&st->main, st->main.add(arg, e.src1[b++]), plan_.posts[i].src1.leaf});
    }
    st->main.add(DNNL_ARG_SCRATCHPAD, e.scratchpad, base + layout_.pad);
    return st;
  }

  void run_with(std::span<const Tensor> in, std::span<Tensor> out, void*,
                detail::FusedState* state) const override {
    auto& st = static_cast<EpilogueState&>(*state);
    for (const EpilogueState::Slot& slot : st.slots) {
      const void* data =
          slot.leaf < 0 ? detail::mutable_data(out[0]) : leaf(in, slot.leaf).raw_data();
      slot.args->set(slot.index, data);
    }
    if (st.src_reorder) st.src_reorder->execute(*e_->src.reorder);
    if (st.weights_reorder) {
      st.weights_made.refresh(leaf(in, plan_.b).impl()->buffer->id(),
                              [&] { st.weights_reorder->execute(*e_->weights.reorder); });
    }
    st.main.execute(e_->primitive);
    if (st.dst_reorder) st.dst_reorder->execute(*e_->dst.reorder);
    dnnl_util::stream().wait();
  }

 private:
  const Tensor& leaf(std::span<const Tensor> in, int32_t i) const {
    return i < num_inputs_ ? in[static_cast<size_t>(i)]
                           : constants_[static_cast<size_t>(i - num_inputs_)];
  }

  std::shared_ptr<const Entry> e_;
  Plan plan_;
  std::vector<Tensor> constants_;
  int32_t num_inputs_;
  Layout layout_;
};

// A matmul epilogue over weights that are, per run, either a parameter or constant seen in the
// previous run too (the same content id: kept reordered into oneDNN's preferred layout while the
// id stays, as a conv's weights) or not (an activation, id 0, or weights new this run: read in
// place, as a reorder would cost a copy per call).
// Pre-blocked weights save brgemm's per-call packing of B: the Transformer encoder's FFN
// products run 3-4% faster alone, and the whole encoder up to 5% when other tenants share the
// cache (docs/defn-design.md).
struct EitherWeightsState final : detail::FusedState {
  void* scratch = nullptr;
  uint64_t last_id = 0;  ///< the weights' content id in the previous run
  std::unique_ptr<detail::FusedState> plain, packed;  ///< packed: made on its first run
};

class EitherWeightsKernel final : public detail::FusedKernel {
 public:
  EitherWeightsKernel(std::unique_ptr<EpilogueKernel> plain, Plan plan,
                      std::vector<Tensor> constants, int32_t num_inputs)
      : plain_(std::move(plain)),
        plan_(std::move(plan)),
        constants_(std::move(constants)),
        num_inputs_(num_inputs) {}

  void run(std::span<const Tensor> in, std::span<Tensor> out) const override {
    plain_->run(in, out);  // nothing carries over: a reorder would not pay
  }
  size_t scratch_bytes() const override {
    // The packed kernel is made on first use, after the arena is planned: it is used only when
    // it needs no more scratch than the plain one (it has no copy of B to keep).
    return plain_->scratch_bytes();
  }
  std::unique_ptr<detail::FusedState> make_state(void* scratch) const override {
    auto st = std::make_unique<EitherWeightsState>();
    st->scratch = scratch;
    st->plain = plain_->make_state(scratch);
    return st;
  }
  void run_with(std::span<const Tensor> in, std::span<Tensor> out, void* scratch,
                detail::FusedState* state) const override {
    auto& st = static_cast<EitherWeightsState&>(*state);
    // Only weights seen unchanged from one run to the next: a training step's donated
    // parameters, new every run, would be reordered every run (as dnnl_matmul_run).
    const uint64_t id = plain_->weights_id(in);
    const bool again = id != 0 && id == st.last_id;
    st.last_id = id;
    const EpilogueKernel* packed = again ? packed_kernel() : nullptr;
    if (packed == nullptr) return plain_->run_with(in, out, scratch, st.plain.get());
    // The blocked weights' memory: made when first used (the second run with the same weights).
    if (!st.packed) st.packed = packed->make_state(st.scratch);
    packed->run_with(in, out, scratch, st.packed.get());
  }

 private:
  // The packed-weights kernel, made on the first run that wants it; null when oneDNN prefers
  // our layout anyway or the kernel would need more scratch than the plain one.
  const EpilogueKernel* packed_kernel() const {
    std::call_once(packed_once_, [&] {
      dnnl_util::Signature sig = plan_.signature();
      sig.insert(sig.begin(), -1);  // the packed-weights variant (dtypes are >= 0)
      auto entry = cache().get(sig, [&] { return make_entry(plan_, true); });
      if (!entry) return;
      auto k = std::make_unique<EpilogueKernel>(std::move(entry), plan_, constants_, num_inputs_);
      if (k->scratch_bytes() <= plain_->scratch_bytes()) packed_ = std::move(k);
    });
    return packed_.get();
  }

  std::unique_ptr<EpilogueKernel> plain_;
  Plan plan_;
  std::vector<Tensor> constants_;
  int32_t num_inputs_;
  mutable std::once_flag packed_once_;
  mutable std::unique_ptr<EpilogueKernel> packed_;
};

}  // namespace

std::unique_ptr<detail::FusedKernel> prepare_epilogue(const Graph& program) {
  std::vector<Tensor> constants;
  std::optional<Plan> read = read_plan(program, constants);
  if (!read) return nullptr;
  Plan& plan = *read;
  auto entry = cache().get(plan.signature(), [&] { return make_entry(plan); });
  if (!entry) return nullptr;
  const auto num_inputs = static_cast<int32_t>(program.inputs.size());
  if (plan.conv || plan.b_dims.size() != 2) {
    return std::make_unique<EpilogueKernel>(std::move(entry), std::move(plan), std::move(constants),
                                            num_inputs);
  }
  auto plain_kernel =
      std::make_unique<EpilogueKernel>(std::move(entry), plan, constants, num_inputs);
  return std::make_unique<EitherWeightsKernel>(std::move(plain_kernel), std::move(plan),
                                               std::move(constants), num_inputs);
}

}  // namespace nx::cpu::fused
