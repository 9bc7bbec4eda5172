// JitFunction: signature cache, tracing, passes, lowering and stats.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "compile.hpp"
#include "nx/defn.hpp"
#include "passes.hpp"
#include "trace.hpp"

namespace nx {

namespace detail {

class JitCore {
 public:
  JitCore(JitFunction::Fn f, JitOptions opts) : f_(std::move(f)), opts_(std::move(opts)) {}

  struct Entry {
    // The signature: argument structure, leaf types and weakness, static key.
    TreeDef in_def;
    std::vector<TensorType> types;
    std::vector<bool> weak;
    std::string key;
    std::shared_ptr<const Graph> graph;
    std::unique_ptr<Executable> exe;
    TreeDef out_def;

    // Compared field by field, without building a string: a call's own cost is part of every
    // training step.
    bool matches(const Tree& args, std::span<const Tensor> leaves, const std::string& k) const {
      if (leaves.size() != types.size() || k != key) return false;
      for (size_t i = 0; i < leaves.size(); ++i) {
        const TensorType& t = types[i];
        if (leaves[i].dtype() != t.dtype || leaves[i].is_weak() != weak[i] ||
            leaves[i].shape() != t.shape) {
          return false;
        }
      }
      return same_structure(args, in_def.skeleton());
    }
  };

  Tree call(Tree args, const std::string& key, const void* ctx) {
    if (recording()) {
      // Inside an enclosing trace: become part of it (Nx inlines nested defn calls).
      inlined_.fetch_add(1, std::memory_order_relaxed);
      return f_(args, ctx);
    }
    std::vector<Tensor> leaves = tree_leaves(args);
    if (tracing_active()) {
      for (Tensor& t : leaves) t = resolve_concrete(t, "nx::jit(" + opts_.name + ")");
    }
    std::shared_ptr<Entry> e = entry_for(args, leaves, key, ctx);
    calls_.fetch_add(1, std::memory_order_relaxed);
    // Drop the tree so that a moved-in (donated) leaf is referenced by `leaves` alone.
    args = Tree();
    std::vector<Tensor> outs = e->exe->run(leaves);
    return tree_unflatten(e->out_def, outs);
  }

  std::string graph_text(const Tree& args, const std::string& key, const void* ctx) {
    std::vector<Tensor> leaves = tree_leaves(args);
    return dump_text(*entry_for(args, leaves, key, ctx)->graph);
  }

  JitStats stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    JitStats s;
    s.calls = calls_.load();
    s.cache_hits = hits_.load();
    s.compiles = compiles_;
    s.inlined = inlined_.load();
    s.last_compile_ms = last_ms_;
    s.total_compile_ms = total_ms_;
    s.cache_size = cache_.size();
    return s;
  }

  void clear() {
    std::lock_guard<std::mutex> lock(mu_);
    cache_.clear();
  }

 private:
  // A signature as text, for errors and graph dumps.
  static std::string signature_text(const TreeDef& def, std::span<const TensorType> types,
                                    const std::vector<bool>& weak, const std::string& key) {
    std::string s = def.to_string();
    for (size_t i = 0; i < types.size(); ++i) {
      s += '|';
      s += type_string(types[i]);
      if (weak[i]) s += 'w';
    }
    s += "|static:";
    s += key;
    return s;
  }
  static std::string signature(const Tree& args, std::span<const Tensor> leaves,
                               const std::string& key) {
    std::vector<TensorType> types;
    std::vector<bool> weak;
    for (const Tensor& t : leaves) {
      types.push_back(t.type());
      weak.push_back(t.is_weak());
    }
    return signature_text(tree_structure(args), types, weak, key);
  }
  static std::string signature_of(const Entry& e) {
    return signature_text(e.in_def, e.types, e.weak, e.key);
  }

  std::shared_ptr<Entry> entry_for(const Tree& args, std::span<const Tensor> leaves,
                                   const std::string& key, const void* ctx) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::shared_ptr<Entry>& c : cache_) {
      if (c->matches(args, leaves, key)) {
        hits_.fetch_add(1, std::memory_order_relaxed);
        return c;
      }
    }
    std::string sig = signature(args, leaves, key);
    if (opts_.strict && !cache_.empty()) {
      throw Error("nx::jit(" + opts_.name + "): strict mode and a new signature " + sig +
                  "; compiled for " + signature_of(*cache_.front()));
    }
    auto start = std::chrono::steady_clock::now();
    auto e = std::make_shared<Entry>();
    std::unique_ptr<bool[]> weak(new bool[leaves.size() + 1]);
    for (size_t i = 0; i < leaves.size(); ++i) {
      e->types.push_back(leaves[i].type());
      e->weak.push_back(leaves[i].is_weak());
      weak[i] = leaves[i].is_weak();
    }
    e->key = key;
    e->in_def = tree_structure(args);
    const TreeDef& in_def = e->in_def;
    Traced tr = trace_function(
        e->types,
        [&](std::span<const Tensor> params) {
          Tree out = f_(tree_unflatten(in_def, params), ctx);
          e->out_def = tree_structure(out);
          return tree_leaves(out);
        },
        std::span<const bool>(weak.get(), leaves.size()));
    if (!tr.captures.empty()) {
      throw Error("nx::jit(" + opts_.name + "): internal error: captures at top level");
    }
    size_t n = compiles_ + 1;
    auto observe = [&](std::string_view pass, const Graph& g) {
      if (opts_.dump_dir.empty()) return;
      std::filesystem::create_directories(opts_.dump_dir);
      std::string base =
          opts_.dump_dir + "/" + opts_.name + "_" + std::to_string(n) + "_" + std::string(pass);
      std::ofstream(base + ".txt") << "# " << sig << "\n" << dump_text(g);
      std::ofstream(base + ".dot") << dump_dot(g, opts_.name + " " + std::string(pass));
    };
    observe("0_traced", *tr.graph);
    std::shared_ptr<const Graph> g =
        opts_.optimize ? std::make_shared<const Graph>(optimize(*tr.graph, observe))
                       : std::shared_ptr<const Graph>(tr.graph);
    CompileOptions copts;
    copts.name = opts_.name;
    copts.donated = donated_leaves(args);
    e->exe = compile(g, copts);
    e->graph = g;
    if (!opts_.dump_dir.empty()) {
      std::ofstream(opts_.dump_dir + "/" + opts_.name + "_" + std::to_string(n) + "_schedule.txt")
          << e->exe->info().schedule;
    }
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    ++compiles_;
    last_ms_ = ms;
    total_ms_ += ms;
    cache_.push_back(e);
    return e;
  }

  std::vector<bool> donated_leaves(const Tree& args) const {
    std::vector<bool> d;
    for (size_t i = 0; i < args.size(); ++i) {
      bool don = false;
      for (int k : opts_.donate) don = don || k == static_cast<int>(i);
      d.insert(d.end(), static_cast<size_t>(args[i].num_leaves()), don);
    }
    return d;
  }

  JitFunction::Fn f_;
  JitOptions opts_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Entry>> cache_;  // in compile order
  std::atomic<int64_t> calls_{0}, hits_{0}, inlined_{0};
  int64_t compiles_ = 0;
  double last_ms_ = 0, total_ms_ = 0;
};

}  // namespace detail

JitFunction::JitFunction(Fn f, JitOptions opts)
    : core_(std::make_shared<detail::JitCore>(std::move(f), std::move(opts))) {}

Tree JitFunction::operator()(Tree args, const std::string& static_key, const void* context) const {
  return core_->call(std::move(args), static_key, context);
}

JitStats JitFunction::stats() const {
  return core_->stats();
}

std::string JitFunction::graph_text(const Tree& args, const std::string& static_key,
                                    const void* context) const {
  return core_->graph_text(args, static_key, context);
}

void JitFunction::clear_cache() const {
  core_->clear();
}

}  // namespace nx
