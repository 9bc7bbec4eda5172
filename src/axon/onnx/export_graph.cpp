// The ONNX exporter's emitter: graph walking, constant folding, names, constants and the
// shape inputs that depend on the batch size.
#include "axon/onnx/export_emit.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>
#include <string>
#include <variant>

#include "nx/core/dispatch.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"

namespace axon::onnx::detail {

using nx::DType;
using nx::Tensor;
using nx::TensorType;
using nx::detail::NodeKind;
using nx::detail::Prim;

void unsupported(Prim p, const std::string& why) {
  throw nx::Error("axon::onnx::export_onnx: primitive " + std::string(nx::detail::prim_name(p)) +
                  " cannot be exported to ONNX: " + why);
}

int32_t onnx_dtype(DType t) {
  using TP = ::onnx::TensorProto;
  switch (t) {
    case DType::U8:
      return TP::UINT8;
    case DType::U16:
      return TP::UINT16;
    case DType::U32:
      return TP::UINT32;
    case DType::U64:
      return TP::UINT64;
    case DType::S8:
      return TP::INT8;
    case DType::S16:
      return TP::INT16;
    case DType::S32:
      return TP::INT32;
    case DType::S64:
      return TP::INT64;
    case DType::F16:
      return TP::FLOAT16;
    case DType::BF16:
      return TP::BFLOAT16;
    case DType::F32:
      return TP::FLOAT;
    case DType::F64:
      return TP::DOUBLE;
    case DType::Pred:
      return TP::BOOL;
  }
  return TP::UNDEFINED;
}

void to_tensor_proto(const Tensor& t, const std::string& name, ::onnx::TensorProto* out) {
  out->set_name(name);
  out->set_data_type(onnx_dtype(t.dtype()));
  for (int64_t d : t.shape()) out->add_dims(d);
  out->set_raw_data(
      std::string(static_cast<const char*>(t.raw_data()), static_cast<size_t>(t.byte_size())));
}

std::string Emitter::fresh(const std::string& prefix) {
  return prefix + "_" + std::to_string(counter_++);
}

void Emitter::set_type(::onnx::ValueInfoProto* vi, const TensorType& a, const TensorType& b) const {
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx_dtype(a.dtype));
  auto* shape = tt->mutable_shape();
  for (size_t i = 0; i < a.shape.size(); ++i) {
    auto* d = shape->add_dim();
    int64_t da = a.shape[i];
    int64_t db = i < b.shape.size() ? b.shape[i] : da;
    if (da == db) {
      d->set_dim_value(da);
    } else if (da == kBatchA && db == kBatchB) {
      d->set_dim_param("batch");
    }  // other batch-dependent dims stay unnamed
  }
}

::onnx::NodeProto* Emitter::add(Ctx& c, const std::string& op, const std::vector<std::string>& in,
                                const std::vector<std::string>& out) {
  ::onnx::NodeProto* n = c.g->add_node();
  n->set_op_type(op);
  n->set_name(fresh(op));
  for (const auto& s : in) n->add_input(s);
  for (const auto& s : out) n->add_output(s);
  return n;
}

std::string Emitter::op1(Ctx& c, const std::string& op, const std::vector<std::string>& in) {
  std::string out = fresh(op);
  add(c, op, in, {out});
  return out;
}

std::string Emitter::initializer(const Tensor& t, const std::string& prefix) {
  std::string key = std::to_string(static_cast<int>(t.dtype())) + "|";
  for (int64_t d : t.shape()) key += std::to_string(d) + ",";
  key +=
      "|" + std::string(static_cast<const char*>(t.raw_data()), static_cast<size_t>(t.byte_size()));
  auto it = const_cache_.find(key);
  if (it != const_cache_.end()) return it->second;
  std::string name = fresh(prefix);
  to_tensor_proto(t, name, main_->add_initializer());
  const_cache_.emplace(std::move(key), name);
  return name;
}

std::string Emitter::scalar(double v, DType t) {
  return initializer(nx::full({}, v, t), "c");
}

std::string Emitter::int_scalar(int64_t v) {
  return initializer(nx::from_vector(std::vector<int64_t>{v}, nx::Shape{}), "c");
}

std::string Emitter::ints(Ctx& c, const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  if (a == b)
    return initializer(nx::from_vector(a, nx::Shape{static_cast<int64_t>(a.size())}), "c");
  if (!dynamic_ || a.size() != b.size()) throw NotDynamic("a shape depends on the batch size");
  std::string key;
  for (size_t i = 0; i < a.size(); ++i)
    key += std::to_string(a[i]) + "/" + std::to_string(b[i]) + ",";
  auto it = c.ints_cache.find(key);
  if (it != c.ints_cache.end()) return it->second;
  // Runs of equal entries are constants; the others a * batch + c.
  std::vector<std::string> parts;
  std::vector<int64_t> run;
  auto flush = [&] {
    if (!run.empty()) parts.push_back(ints(c, run));
    run.clear();
  };
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i]) {
      run.push_back(a[i]);
      continue;
    }
    flush();
    int64_t k = (b[i] - a[i]) / (kBatchB - kBatchA);
    int64_t off = a[i] - k * kBatchA;
    if (k * (kBatchB - kBatchA) != b[i] - a[i])
      throw NotDynamic("a dim is not affine in the batch");
    std::string v = batch_;
    if (k != 1) v = op1(c, "Mul", {v, ints(c, {k})});
    if (off != 0) v = op1(c, "Add", {v, ints(c, {off})});
    parts.push_back(v);
  }
  flush();
  std::string out = parts.size() == 1 ? parts[0] : [&] {
    std::string o = fresh("shape");
    attr_i(add(c, "Concat", parts, {o}), "axis", 0);
    return o;
  }();
  c.ints_cache.emplace(key, out);
  return out;
}

bool Emitter::fold(Ctx& c, const Node& na, const Node& nb, std::vector<std::string>& outs) {
  // Constants (equal in both traces) and small primitives of constants are evaluated here, so
  // that settings such as slice starts are constants of the file rather than computations.
  std::vector<Tensor> values;
  if (na.kind == NodeKind::Constant) {
    const Tensor& ta = na.constant;
    const Tensor& tb = nb.constant;
    if (ta.shape() != tb.shape() || ta.dtype() != tb.dtype() ||
        std::memcmp(ta.raw_data(), tb.raw_data(), static_cast<size_t>(ta.byte_size())) != 0)
      return false;
    values = {ta};
  } else if (na.kind == NodeKind::Prim) {
    if (na.in.empty() || na.prim == Prim::iota || na.prim == Prim::threefry2x32) return false;
    std::vector<Tensor> ins;
    for (int32_t v : na.in) {
      const Tensor& t = c.known[static_cast<size_t>(v)];
      if (!t.defined()) return false;
      ins.push_back(t);
    }
    for (int32_t v : na.out)
      if (c.ta(v).shape != c.tb(v).shape || nx::num_elements(c.ta(v).shape) > 64) return false;
    values = nx::detail::bind_concrete(na.prim, ins, na.params);
  } else {
    return false;
  }
  outs.clear();
  for (size_t k = 0; k < values.size(); ++k) {
    c.known[static_cast<size_t>(na.out[k])] = values[k];
    outs.push_back(initializer(values[k], "const"));
  }
  return true;
}

std::string Emitter::reshape_to(Ctx& c, const std::string& v, const nx::Shape& sa,
                                const nx::Shape& sb) {
  // One batch-dependent dim: -1 there keeps the shape a constant.
  std::vector<int64_t> fixed = sa;
  int differing = 0;
  bool zero = std::find(sa.begin(), sa.end(), 0) != sa.end();
  for (size_t i = 0; i < sa.size(); ++i) {
    if (sa[i] != sb[i]) {
      fixed[i] = -1;
      ++differing;
    }
  }
  std::string shape = differing == 1 && !zero ? ints(c, fixed) : ints(c, sa, sb);
  auto* n = add(c, "Reshape", {v, shape}, {fresh("reshape")});
  if (zero) attr_i(n, "allowzero", 1);
  return n->output(0);
}

std::string Emitter::expand(Ctx& c, const std::string& v, const nx::Shape& a, const nx::Shape& b,
                            DType dt) {
  // Dims equal to the batch size broadcast against a [batch] tensor made from the batch size
  // alone (Shape -> Expand), so that every shape input stays a constant; other batch-dependent
  // dims are computed.
  bool simple = true;
  std::vector<int64_t> fixed = a;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i]) continue;
    fixed[i] = 1;
    simple = simple && a[i] == kBatchA && b[i] == kBatchB;
  }
  if (!simple) return op1(c, "Expand", {v, ints(c, a, b)});
  std::string r = op1(c, "Expand", {v, ints(c, fixed)});
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i]) continue;
    if (!dynamic_) throw NotDynamic("a shape depends on the batch size");
    std::string zero =
        dt == DType::Pred ? initializer(nx::full({}, 0, DType::Pred), "c") : scalar(0, dt);
    std::string z = op1(c, "Expand", {zero, batch_});
    std::vector<int64_t> axes;
    for (size_t k = 0; k < a.size(); ++k)
      if (k != i) axes.push_back(static_cast<int64_t>(k));
    if (!axes.empty()) z = op1(c, "Unsqueeze", {z, ints(c, axes)});
    r = op1(c, dt == DType::Pred ? "Or" : "Add", {r, z});
  }
  return r;
}

std::vector<std::string> Emitter::emit_graph(const Graph& a, const Graph& b, ::onnx::GraphProto* g,
                                             const std::vector<std::string>& params) {
  if (a.nodes.size() != b.nodes.size() || a.types.size() != b.types.size())
    throw NotDynamic("the graph changes with the batch size");
  Ctx c{a, b, g, std::vector<std::string>(a.num_values()), {}, {}};
  c.known.resize(a.num_values());
  // Only the nodes the outputs need.
  std::vector<char> live(a.num_values(), 0);
  for (int32_t v : a.outputs) live[static_cast<size_t>(v)] = 1;
  std::vector<char> node_live(a.nodes.size(), 0);
  for (size_t i = a.nodes.size(); i-- > 0;) {
    const Node& n = a.nodes[i];
    bool any = false;
    for (int32_t v : n.out) any = any || live[static_cast<size_t>(v)];
    if (!any) continue;
    node_live[i] = 1;
    for (int32_t v : n.in) live[static_cast<size_t>(v)] = 1;
  }
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const Node& na = a.nodes[i];
    const Node& nb = b.nodes[i];
    if (na.kind != nb.kind || na.prim != nb.prim || na.in != nb.in || na.out != nb.out)
      throw NotDynamic("the graph changes with the batch size");
    if (!node_live[i]) continue;
    std::vector<std::string> outs;
    if (na.kind == NodeKind::Param) {
      outs = {params.at(static_cast<size_t>(na.index))};
    } else if (!fold(c, na, nb, outs)) {
      outs = emit_node(c, na, nb);
    }
    for (size_t k = 0; k < na.out.size() && k < outs.size(); ++k)
      c.names[static_cast<size_t>(na.out[k])] = outs[k];
  }
  std::vector<std::string> result;
  for (int32_t v : a.outputs) result.push_back(c.names[static_cast<size_t>(v)]);
  return result;
}

std::vector<std::string> Emitter::emit_node(Ctx& c, const Node& na, const Node& nb) {
  switch (na.kind) {
    case NodeKind::Constant: {
      const Tensor& ta = na.constant;
      const Tensor& tb = nb.constant;
      if (ta.shape() == tb.shape()) {
        if (ta.byte_size() != tb.byte_size() ||
            std::memcmp(ta.raw_data(), tb.raw_data(), static_cast<size_t>(ta.byte_size())) != 0)
          throw NotDynamic("a constant depends on the batch size");
        return {initializer(ta, "const")};
      }
      // A splat whose shape depends on the batch: ConstantOfShape.
      size_t es = static_cast<size_t>(nx::byte_size(ta.dtype()));
      const char* p = static_cast<const char*>(ta.raw_data());
      for (int64_t i = 1; i < ta.size(); ++i)
        if (std::memcmp(p, p + static_cast<size_t>(i) * es, es) != 0)
          throw NotDynamic("a constant depends on the batch size");
      std::string out = expand(c, initializer(nx::from_data(p, {}, ta.dtype()), "splat"),
                               ta.shape(), tb.shape(), ta.dtype());
      return {out};
    }
    case NodeKind::StopGrad:
    case NodeKind::CustomGrad:
    case NodeKind::Hook:
      return {c.in(na, 0)};
    case NodeKind::Prim:
      return emit_prim(c, na, nb);
    case NodeKind::While:
    case NodeKind::Cond:
    case NodeKind::Scan:
      return emit_control(c, na, nb);
    case NodeKind::Fused:
      throw nx::Error(
          "axon::onnx::export_onnx: the graph holds a fused cluster; export the "
          "unoptimised trace");
    case NodeKind::Param:
      break;
  }
  throw nx::Error("axon::onnx::export_onnx: unexpected node kind");
}

}  // namespace axon::onnx::detail
