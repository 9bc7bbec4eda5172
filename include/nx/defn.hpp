// defn: tracing, automatic differentiation, control flow and the JIT compiler.
//
// Any C++ function over nx::Tensor and nx::Tree runs three ways with no change:
//
//   auto loss = [](const nx::Tree& p, const nx::Tensor& x, const nx::Tensor& y) {
//     nx::Tensor h = nx::max(nx::dot(x, p["w"].leaf()) + p["b"].leaf(), 0.0);
//     return nx::mean(nx::pow(h - y, 2));
//   };
//   nx::Tensor l = loss(params, x, y);                                   // eagerly
//   auto [value, grads, aux] = nx::value_and_grad(params, [&](const nx::Tree& p) {
//     return loss(p, x, y);                                              // differentiated
//   });
//   auto step = nx::jit([&](const nx::Tree& p, nx::Tensor x, nx::Tensor y) {
//     nx::Tree g = nx::grad(p, [&](const nx::Tree& q) { return loss(q, x, y); });
//     return nx::tree_map(p, g, [](auto& w, auto& dw) { return w - 0.01 * dw; });
//   });
//   nx::Tree next = step(params, x, y);                                  // compiled and cached
//
// Inside jit and grad, tensors are *traced*: they have a shape and dtype, every op accepts them,
// and their data cannot be read (see Tensor::is_traced). Concrete tensors a traced function
// closes over are baked into the compiled code as constants when it is first traced.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "nx/tensor.hpp"
#include "nx/tree.hpp"

namespace nx {

// ---- Autodiff ----------------------------------------------------------------------------------

/// What value_and_grad returns.
struct ValueAndGrad {
  Tensor value;  ///< f(x)
  Tree grad;     ///< df/dx, with x's structure and dtypes
  Tree aux;      ///< the auxiliary outputs (value_and_grad_aux), never differentiated
};

/// Which leaves of x to differentiate with respect to (default: all). Leaves left out are held
/// constant and get a zero gradient.
struct GradOptions {
  /// Dotted leaf paths (as tree_flatten_with_paths) to differentiate; unset: all.
  std::function<bool(const std::string& path)> wrt = {};
};

/// The gradient of a scalar floating-point function at x (reverse mode). The gradient has x's
/// structure; every leaf of x that is differentiated must be floating point.
Tree grad(const Tree& x, const std::function<Tensor(const Tree&)>& f, const GradOptions& opts = {});
/// grad for a function of one tensor.
Tensor grad(const Tensor& x, const std::function<Tensor(const Tensor&)>& f);
/// f(x) and its gradient, from one forward pass.
ValueAndGrad value_and_grad(const Tree& x, const std::function<Tensor(const Tree&)>& f,
                            const GradOptions& opts = {});
/// value_and_grad for f returning {value, aux}: aux (any tree) is returned, not differentiated.
ValueAndGrad value_and_grad_aux(const Tree& x,
                                const std::function<std::pair<Tensor, Tree>(const Tree&)>& f,
                                const GradOptions& opts = {});

/// x, with a zero gradient: nothing flows back through it.
Tensor stop_grad(const Tensor& x);

/// The cotangent of a custom_grad value -> one cotangent per input (an empty Tensor is zero).
using CustomGradFn = std::function<std::vector<Tensor>(const Tensor& g)>;
/// `value`, whose gradient with respect to `inputs` is given by `vjp` instead of by
/// differentiating how `value` was computed (Nx's custom_grad). `vjp` may use any tensors of the
/// surrounding computation and runs whenever a gradient through `value` is taken.
Tensor custom_grad(const Tensor& value, const std::vector<Tensor>& inputs, CustomGradFn vjp);

// ---- Side effects ------------------------------------------------------------------------------

/// x unchanged; `fn` is called with x's concrete value when it is computed: immediately when
/// eager, on every run of a compiled function (Nx's hook).
Tensor hook(const Tensor& x, const std::string& name, std::function<void(const Tensor&)> fn);
/// x unchanged; prints `label` and the value to stderr when computed (Nx's print_value).
Tensor print_value(const Tensor& x, const std::string& label = "");

// ---- Control flow (differentiable, traceable)
// ----------------------------------------------------

/// Runs `body` on the state while `cond(state)` (a scalar) is true; returns the final state. The
/// state keeps its structure and types across iterations.
Tree while_loop(const Tree& init, const std::function<Tensor(const Tree&)>& cond,
                const std::function<Tree(const Tree&)>& body);

/// on_true() when pred (a scalar) is true, else on_false(). Both branches return trees of the same
/// structure and types. Under tracing both are traced; only one runs.
Tree cond(const Tensor& pred, const std::function<Tree()>& on_true,
          const std::function<Tree()>& on_false);

/// Options of scan.
struct ScanOptions {
  bool reverse = false;  ///< walk the leading axis from the end (ys stay in input order)
  int64_t length = -1;   ///< steps when xs is empty; otherwise the leading axis of xs
};
/// What scan returns.
struct ScanResult {
  Tree carry;  ///< the final carry
  Tree ys;     ///< per-step outputs stacked along a new leading axis
};
/// JAX's scan: for each slice x of xs along its leading axis, (carry, y) = f(carry, x).
ScanResult scan(const Tree& init, const Tree& xs,
                const std::function<std::pair<Tree, Tree>(const Tree& carry, const Tree& x)>& f,
                const ScanOptions& opts = {});

// ---- JIT ---------------------------------------------------------------------------------------

/// How a jit-compiled function traces, compiles and caches.
struct JitOptions {
  std::string name = "jit";  ///< names the function in errors, stats and dumps
  bool strict = false;       ///< a call with a second signature throws instead of recompiling
  bool optimize = true;      ///< run the graph passes (off: lower the traced graph as is)
  /// Argument positions whose buffers a call may reuse for its outputs when the caller passes
  /// the only reference (move the argument in); a training step updates its state in place.
  std::vector<int> donate = {};
  /// When set, every compilation writes its graph after tracing and after each pass, as text
  /// (.txt) and Graphviz (.dot), into this directory.
  std::string dump_dir = {};
};

/// What a jit function has done so far.
struct JitStats {
  int64_t calls = 0;           ///< calls that ran compiled code (inlined calls excluded)
  int64_t cache_hits = 0;      ///< calls that found their executable
  int64_t compiles = 0;        ///< signatures traced and compiled
  int64_t inlined = 0;         ///< calls made while tracing an enclosing function
  double last_compile_ms = 0;  ///< trace + passes + lowering of the latest compilation
  double total_compile_ms = 0;
  size_t cache_size = 0;  ///< executables held
};

/// A static (non-tensor) argument of a jit function: part of the signature, so each distinct
/// value compiles its own executable. T must be printable with operator<<.
template <class T>
struct Static {
  T value;
};

namespace detail {
class JitCore;
}

/// The type-erased core of a jit function: takes and returns trees. Thread-safe.
class JitFunction {
 public:
  /// `f` receives the arguments as a list tree, and the `context` the call was given (Jitted
  /// passes its static arguments that way), and returns any tree.
  using Fn = std::function<Tree(const Tree& args, const void* context)>;
  JitFunction(Fn f, JitOptions opts);

  /// Runs f on args: compiled and cached per signature (the leaves' types, the tree structure
  /// and `static_key`); inlined when called while an enclosing function is traced.
  /// Taking `args` by value lets a caller move donated state in (see JitOptions::donate).
  Tree operator()(Tree args, const std::string& static_key = "",
                  const void* context = nullptr) const;
  /// Counters and timings so far.
  JitStats stats() const;
  /// The optimized graph for the signature of `args` as text (compiles it if needed).
  std::string graph_text(const Tree& args, const std::string& static_key = "",
                         const void* context = nullptr) const;
  /// Drops every cached executable.
  void clear_cache() const;

 private:
  std::shared_ptr<detail::JitCore> core_;
};

namespace detail {

template <class T>
struct is_static : std::false_type {};
template <class T>
struct is_static<Static<T>> : std::true_type {};

// C++ values <-> trees for jit arguments and results.
template <class T>
Tree to_tree(T&& value) {
  using V = std::remove_cvref_t<T>;
  const V& v = value;
  if constexpr (std::is_same_v<V, Tree> || std::is_same_v<V, Tensor>) {
    return Tree(std::forward<T>(value));
  } else if constexpr (std::is_arithmetic_v<V>) {
    return Tree(Tensor(v));
  } else if constexpr (requires { std::tuple_size<V>::value; }) {
    Tree::List items;
    std::apply([&](const auto&... e) { (items.push_back(to_tree(e)), ...); }, v);
    return Tree::list(std::move(items));
  } else {
    Tree::List items;
    for (const auto& e : v) items.push_back(to_tree(e));
    return Tree::list(std::move(items));
  }
}
template <class T>
T from_tree(const Tree& t) {
  if constexpr (std::is_same_v<T, Tree>) {
    return t;
  } else if constexpr (std::is_same_v<T, Tensor>) {
    return t.leaf();
  } else if constexpr (requires { std::tuple_size<T>::value; }) {
    return [&]<size_t... I>(std::index_sequence<I...>) {
      return T{from_tree<std::remove_cvref_t<std::tuple_element_t<I, T>>>(t[I])...};
    }
    (std::make_index_sequence<std::tuple_size_v<T>>{});
  } else {
    T out;
    for (const Tree& c : t.children()) out.push_back(from_tree<typename T::value_type>(c));
    return out;
  }
}
// The argument f sees: static values unwrapped, trees and tensors from the args tree.
template <class A>
decltype(auto) jit_arg(const Tree& args, size_t i, const A& original) {
  if constexpr (is_static<A>::value) {
    return (original.value);
  } else if constexpr (std::is_same_v<A, Tree>) {
    return Tree(args[i]);
  } else {
    return Tensor(args[i].leaf());
  }
}

}  // namespace detail

/// A jit-compiled C++ function. Arguments may be nx::Tensor, nx::Tree, C++ numbers (scalar
/// tensors, weakly typed as in eager code) and nx::Static values; the result may be a Tensor, a
/// Tree, or a std::pair, std::tuple or std::vector of those. Copies share one cache.
template <class F>
class Jitted {
 public:
  Jitted(F f, JitOptions opts)
      : core_(std::make_shared<JitFunction>(
            [f = std::move(f)](const Tree& args, const void* ctx) -> Tree {
              return static_cast<const Caller*>(ctx)->call(f, args);
            },
            std::move(opts))) {}

  /// Arguments passed as rvalues (std::move) are handed over, so that donated ones can be
  /// updated in place.
  template <class... A>
  auto operator()(A&&... a) const {
    using R = std::remove_cvref_t<std::invoke_result_t<
        const F&, decltype(detail::jit_arg(std::declval<const Tree&>(), 0,
                                           std::declval<const std::remove_cvref_t<A>&>()))...>>;
    // Static arguments are never moved from, so the caller can still read them while tracing.
    CallerOf<std::remove_cvref_t<A>...> caller(std::tuple<const std::remove_cvref_t<A>&...>(a...));
    Tree::List items;
    std::string key;
    (add_arg(items, key, std::forward<A>(a)), ...);
    Tree out = (*core_)(Tree::list(std::move(items)), key, static_cast<const Caller*>(&caller));
    return detail::from_tree<R>(out);
  }
  /// Counters and timings so far.
  JitStats stats() const { return core_->stats(); }
  /// The type-erased core (graph_text, clear_cache).
  const JitFunction& core() const { return *core_; }

 private:
  // Calls f with the traced arguments, taking static ones from the call being traced.
  struct Caller {
    virtual ~Caller() = default;
    virtual Tree call(const F& f, const Tree& args) const = 0;
  };
  template <class... A>
  struct CallerOf final : Caller {
    explicit CallerOf(std::tuple<const A&...> o) : originals(o) {}
    Tree call(const F& f, const Tree& args) const override {
      return [&]<size_t... I>(std::index_sequence<I...>) {
        return detail::to_tree(f(detail::jit_arg(args, I, std::get<I>(originals))...));
      }
      (std::index_sequence_for<A...>{});
    }
    std::tuple<const A&...> originals;
  };
  template <class A>
  static void add_arg(Tree::List& items, std::string& key, A&& a) {
    if constexpr (detail::is_static<std::remove_cvref_t<A>>::value) {
      std::ostringstream os;
      os << a.value;
      key += os.str();
      key += '\x1f';
      items.push_back(Tree());
    } else {
      items.push_back(detail::to_tree(std::forward<A>(a)));
    }
  }

  std::shared_ptr<JitFunction> core_;
};

/// Compiles `f` (see Jitted). The first call with each new signature traces f, optimizes the
/// graph and lowers it to an executable; later calls with that signature only run it.
template <class F>
Jitted<F> jit(F f, JitOptions opts = {}) {
  return Jitted<F>(std::move(f), std::move(opts));
}

}  // namespace nx
