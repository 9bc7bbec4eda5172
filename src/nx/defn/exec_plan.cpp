#include "exec_plan.hpp"

#include <algorithm>
#include <limits>

#include "fused_kernel.hpp"

namespace nx::detail::exec {

namespace {

size_t value_bytes(const Graph& g, int32_t v) {
  const TensorType& t = g.type(v);
  return static_cast<size_t>(num_elements(t.shape)) * static_cast<size_t>(byte_size(t.dtype));
}

// The inputs a node reads when it runs (custom_grad's extra inputs only feed its gradient).
size_t num_reads(const Node& n) {
  return n.kind == NodeKind::CustomGrad ? std::min<size_t>(1, n.in.size()) : n.in.size();
}

// Greedy by size: the largest storages are placed first, each at the lowest offset that is free
// for its whole live range. Returns the arena size.
size_t place(std::vector<Storage>& storages) {
  std::vector<size_t> arena;
  for (size_t i = 0; i < storages.size(); ++i) {
    if (storages[i].kind == StorageKind::Arena) arena.push_back(i);
  }
  // Which storages are live at the same time, by a sweep over first writes (pairs are few: most
  // temporaries live for a node or two).
  std::vector<std::vector<size_t>> overlapping(storages.size());
  {
    std::vector<size_t> by_first = arena, active;
    std::stable_sort(by_first.begin(), by_first.end(),
                     [&](size_t a, size_t b) { return storages[a].first < storages[b].first; });
    for (size_t s : by_first) {
      const Storage& st = storages[s];
      std::erase_if(active, [&](size_t a) { return storages[a].last < st.first; });
      for (size_t a : active) {
        overlapping[s].push_back(a);
        overlapping[a].push_back(s);
      }
      active.push_back(s);
    }
  }
  std::vector<size_t> order = arena;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (storages[a].bytes != storages[b].bytes) return storages[a].bytes > storages[b].bytes;
    return storages[a].first < storages[b].first;
  });
  std::vector<bool> placed(storages.size(), false);
  std::vector<size_t> conflicts;
  size_t total = 0;
  for (size_t s : order) {
    Storage& st = storages[s];
    size_t size = align_up(st.bytes);
    conflicts.clear();
    for (size_t p : overlapping[s]) {
      if (placed[p]) conflicts.push_back(p);
    }
    std::sort(conflicts.begin(), conflicts.end(),
              [&](size_t a, size_t b) { return storages[a].offset < storages[b].offset; });
    size_t offset = 0;
    for (size_t c : conflicts) {
      const Storage& o = storages[c];
      if (o.offset >= offset + size) break;
      offset = std::max(offset, o.offset + align_up(o.bytes));
    }
    st.offset = offset;
    total = std::max(total, offset + size);
    placed[s] = true;
  }
  return total;
}

}  // namespace

bool is_alias_node(const Node& n) {
  switch (n.kind) {
    case NodeKind::StopGrad:
    case NodeKind::CustomGrad:
    case NodeKind::Hook:
      return true;
    case NodeKind::Prim:
      return n.prim == Prim::reshape || n.prim == Prim::bitcast;
    default:
      return false;
  }
}

bool may_write_in_place(const Graph& g, const Node& n, size_t out, size_t in) {
  if (out >= n.out.size() || in >= n.in.size()) return false;
  // Equal bytes and equal element counts: element i of the input is element i of the output
  // (a broadcast operand of a wider dtype can have the output's byte size, e.g. s16[3] against
  // a pred[2][3] comparison).
  const TensorType &ti = g.type(n.in[in]), &to = g.type(n.out[out]);
  if (num_elements(ti.shape) != num_elements(to.shape) ||
      byte_size(ti.dtype) != byte_size(to.dtype))
    return false;
  if (n.kind == NodeKind::Fused) return fused_may_write_in_place(n, out, in);
  if (n.kind != NodeKind::Prim || n.out.size() != 1) return false;
  switch (info(n.prim).group) {
    case PrimGroup::Unary:
    case PrimGroup::Binary:
    case PrimGroup::Compare:
      return true;
    case PrimGroup::Convert:
      return n.prim == Prim::convert && g.type(n.in[in]).dtype != g.type(n.out[out]).dtype;
    default:
      return false;
  }
}

StoragePlan plan_storage(const Graph& g, std::span<const size_t> scratch,
                         const std::vector<bool>& donated) {
  const auto num_nodes = static_cast<int32_t>(g.nodes.size());
  const int32_t kForever = num_nodes;  // graph outputs are read after the last node
  StoragePlan plan;
  plan.storage_of.assign(g.num_values(), -1);
  plan.scratch_of.assign(g.nodes.size(), -1);
  plan.in_place.assign(g.nodes.size(), {});

  std::vector<int32_t> last_read(g.num_values(), -1);
  for (int32_t i = 0; i < num_nodes; ++i) {
    const Node& n = g.nodes[static_cast<size_t>(i)];
    for (size_t k = 0; k < num_reads(n); ++k) last_read[static_cast<size_t>(n.in[k])] = i;
  }
  std::vector<bool> is_output(g.num_values(), false);
  for (int32_t v : g.outputs) {
    last_read[static_cast<size_t>(v)] = kForever;
    is_output[static_cast<size_t>(v)] = true;
  }
  // An output may be better off in a donated buffer than in the storage of a dying operand: the
  // in-place write would start the output's storage before the donor's last read.
  std::vector<size_t> donor_bytes;
  for (size_t i = 0; i < donated.size() && i < g.inputs.size(); ++i) {
    if (donated[i]) donor_bytes.push_back(value_bytes(g, g.inputs[i]));
  }

  auto add = [&](Storage s) {
    plan.storages.push_back(std::move(s));
    return static_cast<int32_t>(plan.storages.size() - 1);
  };
  auto join = [&](int32_t v, int32_t s) {
    plan.storage_of[static_cast<size_t>(v)] = s;
    Storage& st = plan.storages[static_cast<size_t>(s)];
    st.last = std::max(st.last, last_read[static_cast<size_t>(v)]);
  };

  // Whether output `out` of node `n` may take storage `s` of an input: every position reading
  // that storage must allow it.
  auto may_take = [&](const Node& n, size_t out, int32_t s) {
    bool any = false;
    for (size_t pos = 0; pos < n.in.size(); ++pos) {
      if (plan.storage_of[static_cast<size_t>(n.in[pos])] != s) continue;
      if (!may_write_in_place(g, n, out, pos)) return false;
      any = true;
    }
    return any;
  };

  std::vector<int32_t> taken;
  for (int32_t i = 0; i < num_nodes; ++i) {
    const Node& n = g.nodes[static_cast<size_t>(i)];
    if (n.kind == NodeKind::Param || n.kind == NodeKind::Constant) {
      int32_t v = n.out[0];
      Storage s;
      s.kind = n.kind == NodeKind::Param ? StorageKind::Input : StorageKind::Constant;
      s.bytes = value_bytes(g, v);
      s.root = v;
      s.input = n.index;
      s.constant = n.constant;
      s.first = -1;
      s.last = -1;
      join(v, add(std::move(s)));
      continue;
    }
    if (is_alias_node(n)) {
      join(n.out[0], plan.storage_of[static_cast<size_t>(n.in[0])]);
      continue;
    }
    taken.clear();
    for (size_t k = 0; k < n.out.size(); ++k) {
      int32_t v = n.out[k];
      size_t bytes = value_bytes(g, v);
      bool wants_donor =
          is_output[static_cast<size_t>(v)] &&
          std::find(donor_bytes.begin(), donor_bytes.end(), bytes) != donor_bytes.end();
      int32_t reuse = -1;
      for (size_t pos = 0; pos < n.in.size() && reuse < 0 && !wants_donor; ++pos) {
        int32_t s = plan.storage_of[static_cast<size_t>(n.in[pos])];
        const Storage& st = plan.storages[static_cast<size_t>(s)];
        if (st.kind == StorageKind::Arena && st.root >= 0 && st.last == i && st.bytes == bytes &&
            std::find(taken.begin(), taken.end(), s) == taken.end() && may_take(n, k, s)) {
          reuse = s;
          plan.in_place[static_cast<size_t>(i)].push_back(
              {static_cast<int32_t>(k), static_cast<int32_t>(pos)});
        }
      }
      if (reuse >= 0) {
        taken.push_back(reuse);
        join(v, reuse);
        continue;
      }
      Storage s;
      s.bytes = bytes;
      s.root = v;
      s.first = i;
      s.last = i;
      join(v, add(std::move(s)));
    }
    size_t want = static_cast<size_t>(i) < scratch.size() ? scratch[static_cast<size_t>(i)] : 0;
    if (want > 0) {
      Storage s;
      s.bytes = want;
      s.first = i;
      s.last = i;
      plan.scratch_of[static_cast<size_t>(i)] = add(std::move(s));
    }
  }

  for (size_t k = 0; k < g.outputs.size(); ++k) {
    Storage& st =
        plan.storages[static_cast<size_t>(plan.storage_of[static_cast<size_t>(g.outputs[k])])];
    if (st.kind == StorageKind::Arena) {
      st.kind = StorageKind::Output;
      st.output = static_cast<int32_t>(k);
    }
  }

  // Donation: an output storage may live in a donated input's buffer when every read of the
  // input comes before the output's first write, or at that write by a node that may work in
  // place on it.
  std::vector<bool> lent(g.inputs.size(), false);
  for (Storage& out : plan.storages) {
    if (out.kind != StorageKind::Output) continue;
    // Input k for output k first: a step function returns its state in the order it took it.
    std::vector<size_t> order;
    if (static_cast<size_t>(out.output) < g.inputs.size()) {
      order.push_back(static_cast<size_t>(out.output));
    }
    for (size_t i = 0; i < g.inputs.size(); ++i) order.push_back(i);
    for (size_t i : order) {
      if (i >= donated.size() || !donated[i] || lent[i]) continue;
      int32_t s_in = plan.storage_of[static_cast<size_t>(g.inputs[i])];
      const Storage& in = plan.storages[static_cast<size_t>(s_in)];
      if (in.kind != StorageKind::Input || in.bytes != out.bytes) continue;
      bool ok = in.last < out.first;
      if (!ok && in.last == out.first) {
        const Node& n = g.nodes[static_cast<size_t>(out.first)];
        auto k = std::find(n.out.begin(), n.out.end(), out.root);
        ok = k != n.out.end() && may_take(n, static_cast<size_t>(k - n.out.begin()), s_in);
      }
      if (!ok) continue;
      out.donor = static_cast<int32_t>(i);
      lent[i] = true;
      break;
    }
  }

  for (int32_t i = 0; i < num_nodes; ++i) {
    const Node& n = g.nodes[static_cast<size_t>(i)];
    if (n.kind == NodeKind::Param || n.kind == NodeKind::Constant || is_alias_node(n)) continue;
    for (int32_t v : n.out) {
      if (!is_output[static_cast<size_t>(v)]) plan.naive_bytes += align_up(value_bytes(g, v));
    }
    int32_t s = plan.scratch_of[static_cast<size_t>(i)];
    if (s >= 0) plan.naive_bytes += align_up(plan.storages[static_cast<size_t>(s)].bytes);
  }
  plan.arena_bytes = place(plan.storages);
  return plan;
}

std::string storage_label(const StoragePlan& plan, int32_t storage) {
  const Storage& s = plan.storages[static_cast<size_t>(storage)];
  switch (s.kind) {
    case StorageKind::Input:
      return "in#" + std::to_string(s.input);
    case StorageKind::Constant:
      return "const";
    case StorageKind::Arena:
      return "arena[" + std::to_string(s.offset) + ",+" + std::to_string(s.bytes) + ")";
    case StorageKind::Output:
      return "out#" + std::to_string(s.output) +
             (s.donor >= 0 ? "(or donated in#" + std::to_string(s.donor) + ")" : "");
  }
  return "?";
}

}  // namespace nx::detail::exec
