// Epilogue kernels: a contraction plus bias and post-ops as one oneDNN primitive (see
// fused_dnnl.hpp for the programs it takes; fused_dnnl_plan.cpp reads them).
#include "fused_dnnl.hpp"

#include <optional>
#include <unordered_map>

#include "../../core/tensor_impl.hpp"
#include "dnnl_common.hpp"
#include "fused_dnnl_plan.hpp"

namespace nx::cpu::fused {

namespace {

using detail::Graph;

// ---- primitives --------------------------------------------------------------------------------

/// A layout oneDNN computes in, with a reorder from/to ours when they differ (as dnnl_conv.cpp).
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

std::shared_ptr<const Entry> make_entry(const Plan& plan) {
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
      memory::desc c = md(plan.c_dims, dt, row_major(plan.c_dims));
      auto desc = bias ? dnnl::matmul::desc(a, b, *bias, c) : dnnl::matmul::desc(a, b, c);
      dnnl::matmul::primitive_desc pd(desc, attr, eng);
      if (!dnnl_util::is_optimized(pd)) return nullptr;
      return std::make_shared<const Entry>(Entry{dnnl::matmul(pd), pd.scratchpad_desc(),
                                                 Reordered{a, a, {}, {}}, Reordered{b, b, {}, {}},
                                                 Reordered{c, c, {}, {}}, bias, src1});
    }
    auto any = [&](const memory::dims& d) { return memory::desc(d, dt, memory::format_tag::any); };
    // forward_training: the same result as inference without a workspace, and oneDNN 2.6 then
    // picks the blocked kernels that dnnl_conv.cpp measured faster.
    const auto prop = dnnl::prop_kind::forward_training;
    auto desc =
        bias ? dnnl::convolution_forward::desc(
                   prop, dnnl::algorithm::convolution_direct, any(plan.a_dims), any(plan.b_dims),
                   *bias, any(plan.c_dims), plan.strides, plan.dilates, plan.pad_l, plan.pad_r)
             : dnnl::convolution_forward::desc(prop, dnnl::algorithm::convolution_direct,
                                               any(plan.a_dims), any(plan.b_dims), any(plan.c_dims),
                                               plan.strides, plan.dilates, plan.pad_l, plan.pad_r);
    dnnl::convolution_forward::primitive_desc pd(desc, attr, eng);
    if (!dnnl_util::is_optimized(pd)) return nullptr;
    memory::desc src = md(plan.a_dims, dt, row_major(plan.a_dims));
    memory::desc w = md(plan.b_dims, dt, row_major(plan.b_dims));
    memory::desc dst = md(plan.c_dims, dt, row_major(plan.c_dims));
    return std::make_shared<const Entry>(
        Entry{dnnl::convolution_forward(pd), pd.scratchpad_desc(),
              make_reordered(src, pd.src_desc(), true), make_reordered(w, pd.weights_desc(), true),
              make_reordered(dst, pd.dst_desc(), false), bias, src1});
  } catch (const dnnl::error&) {
    return nullptr;  // no implementation for this problem or post-op combination
  }
}

memory stage_in(const Reordered& r, const void* data, dnnl_util::Scratch& scratch) {
  memory user = dnnl_util::wrap(r.plain, data);
  if (!r.reorder) return user;
  memory native = dnnl_util::wrap(r.native, scratch.take(r.native.get_size()));
  void* pad = scratch.take(r.scratchpad.get_size());
  r.reorder->execute(dnnl_util::stream(),
                     {{DNNL_ARG_FROM, user},
                      {DNNL_ARG_TO, native},
                      {DNNL_ARG_SCRATCHPAD, dnnl_util::wrap(r.scratchpad, pad)}});
  return native;
}

class EpilogueKernel final : public detail::FusedKernel {
 public:
  EpilogueKernel(std::shared_ptr<const Entry> e, Plan plan, std::vector<Tensor> constants,
                 int32_t num_inputs)
      : e_(std::move(e)),
        plan_(std::move(plan)),
        constants_(std::move(constants)),
        num_inputs_(num_inputs) {}

  void run(std::span<const Tensor> in, std::span<Tensor> out) const override {
    auto leaf = [&](int32_t i) -> const void* {
      return i < num_inputs_ ? in[static_cast<size_t>(i)].raw_data()
                             : constants_[static_cast<size_t>(i - num_inputs_)].raw_data();
    };
    dnnl_util::Scratch scratch;
    dnnl::stream& s = dnnl_util::stream();
    std::unordered_map<int, memory> args;
    args[DNNL_ARG_SRC] = stage_in(e_->src, leaf(plan_.a), scratch);
    args[DNNL_ARG_WEIGHTS] = stage_in(e_->weights, leaf(plan_.b), scratch);
    memory user_dst = dnnl_util::wrap(e_->dst.plain, detail::mutable_data(out[0]));
    memory dst = e_->dst.reorder
                     ? dnnl_util::wrap(e_->dst.native, scratch.take(e_->dst.native.get_size()))
                     : user_dst;
    args[DNNL_ARG_DST] = dst;
    if (plan_.bias) args[DNNL_ARG_BIAS] = dnnl_util::wrap(*e_->bias, leaf(plan_.bias->leaf));
    size_t b = 0;
    for (size_t i = 0; i < plan_.posts.size(); ++i) {
      if (!plan_.posts[i].binary) continue;
      args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(static_cast<int>(i)) | DNNL_ARG_SRC_1] =
          dnnl_util::wrap(e_->src1[b++], leaf(plan_.posts[i].src1.leaf));
    }
    args[DNNL_ARG_SCRATCHPAD] =
        dnnl_util::wrap(e_->scratchpad, scratch.take(e_->scratchpad.get_size()));
    e_->primitive.execute(s, args);
    if (e_->dst.reorder) {
      void* pad = scratch.take(e_->dst.scratchpad.get_size());
      e_->dst.reorder->execute(s,
                               {{DNNL_ARG_FROM, dst},
                                {DNNL_ARG_TO, user_dst},
                                {DNNL_ARG_SCRATCHPAD, dnnl_util::wrap(e_->dst.scratchpad, pad)}});
    }
    s.wait();
  }

 private:
  std::shared_ptr<const Entry> e_;
  Plan plan_;
  std::vector<Tensor> constants_;
  int32_t num_inputs_;
};

}  // namespace

std::unique_ptr<detail::FusedKernel> prepare_epilogue(const Graph& program) {
  std::vector<Tensor> constants;
  std::optional<Plan> read = read_plan(program, constants);
  if (!read) return nullptr;
  Plan& plan = *read;
  auto entry = cache().get(plan.signature(), [&] { return make_entry(plan); });
  if (!entry) return nullptr;
  return std::make_unique<EpilogueKernel>(std::move(entry), std::move(plan), std::move(constants),
                                          static_cast<int32_t>(program.inputs.size()));
}

}  // namespace nx::cpu::fused
