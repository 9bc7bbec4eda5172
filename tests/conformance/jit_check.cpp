// The forward jit mode (jit_check.hpp): tolerances, the comparison, and one case variant run
// eagerly and under nx::jit.
#include "jit_check.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "compare.hpp"
#include "nx/defn.hpp"

namespace nx::conformance {

namespace {

constexpr int kMaxReported = 6;

std::string number(double v, int digits = 9) {
  std::ostringstream os;
  os.precision(digits);
  os << v;
  return os.str();
}

// The spacing of dtype d's floats at |x| (the subnormal spacing below the smallest normal).
double ulp_of(double x, DType d) {
  int emin = d == DType::F16 ? -14 : d == DType::F64 ? -1022 : -126;  // bf16 has f32's range
  int e = x == 0.0 ? emin : std::max(std::ilogb(std::fabs(x)), emin);
  return std::ldexp(1.0, e - mantissa_bits(d));
}

std::string index_string(const Shape& shape, int64_t flat) {
  std::string out;
  std::vector<int64_t> idx(shape.size());
  for (size_t i = shape.size(); i-- > 0;) {
    idx[i] = shape[i] ? flat % shape[i] : 0;
    flat = shape[i] ? flat / shape[i] : 0;
  }
  for (int64_t i : idx) out += "[" + std::to_string(i) + "]";
  return out.empty() ? "[]" : out;
}

std::string element_string(const Tensor& t, int64_t i) {
  if (is_float(t.dtype())) {
    return number(detail::element_as_double(t, i), t.dtype() == DType::F64 ? 17 : 9);
  }
  if (is_unsigned_int(t.dtype())) return std::to_string(detail::element_as_uint64(t, i));
  return std::to_string(detail::element_as_int64(t, i));
}

bool bits_equal(const Tensor& got, const Tensor& want, int64_t i) {
  int64_t w = byte_size(got.dtype());
  const auto* g = static_cast<const unsigned char*>(got.raw_data());
  const auto* e = static_cast<const unsigned char*>(want.raw_data());
  if (got.dtype() == DType::Pred) return (g[i] != 0) == (e[i] != 0);
  return std::memcmp(g + i * w, e + i * w, static_cast<size_t>(w)) == 0;
}

// The outcome of running an op (or a whole case) once.
struct Outcome {
  bool threw = false;
  bool nx_error = false;  ///< threw nx::Error (not some other exception)
  std::string error;
  std::vector<Tensor> outs;
};

Outcome capture(const std::function<std::vector<Tensor>()>& f) {
  Outcome o;
  try {
    o.outs = f();
  } catch (const Error& e) {
    o.threw = o.nx_error = true;
    o.error = e.what();
  } catch (const std::exception& e) {
    o.threw = true;
    o.error = std::string("non-nx::Error exception: ") + e.what();
  }
  return o;
}

// Copies of the stored tile stacked along axis 0 (attrs "repeat"; conformance_test.cpp says why).
Tensor repeat_rows(const Tensor& t, int64_t k) {
  if (t.rank() == 0) throw std::runtime_error("conformance: cannot repeat a scalar");
  std::vector<uint8_t> bytes(static_cast<size_t>(t.byte_size() * k));
  for (int64_t i = 0; i < k; ++i) {
    std::memcpy(bytes.data() + i * t.byte_size(), t.raw_data(), static_cast<size_t>(t.byte_size()));
  }
  Shape shape = t.shape();
  shape[0] *= k;
  return from_data(bytes.data(), shape, t.dtype());
}

bool repeats_input(const Json& attrs, size_t i) {
  if (!attrs.contains("repeat")) return false;
  if (!attrs.contains("repeat_inputs")) return true;
  for (const Json& j : attrs["repeat_inputs"])
    if (j.get<size_t>() == i) return true;
  return false;
}

std::vector<Tensor> case_inputs(const CaseSpec& c, const VariantSpec& v) {
  std::vector<Tensor> in;
  for (size_t i = 0; i < v.inputs.size(); ++i) {
    Tensor t = load_array(c, v.inputs[i]);
    in.push_back(repeats_input(c.attrs, i) ? repeat_rows(t, c.attrs["repeat"].get<int64_t>()) : t);
  }
  return in;
}

Tree list_of(const std::vector<Tensor>& ts) {
  Tree::List items;
  for (const Tensor& t : ts) items.emplace_back(t);
  return Tree::list(std::move(items));
}

std::vector<Tensor> leaves_of(const Tree& t) {
  std::vector<Tensor> out;
  for (const Tree& c : t.children()) out.push_back(c.leaf());
  return out;
}

// Jit names appear in errors and dumps: keep them to the case and setting.
std::string jit_name(const CaseSpec& c, const VariantSpec& v, bool optimize) {
  return "conformance:" + c.name + ":" + std::string(dtype_name(v.dtype)) +
         (optimize ? ":opt" : ":noopt");
}

// Options of a compiled case: NX_JIT_CONFORMANCE_DUMP=<dir> dumps every graph (after tracing and
// each pass) and schedule there, for debugging a failure.
JitOptions options(std::string name, bool optimize) {
  const char* dump = std::getenv("NX_JIT_CONFORMANCE_DUMP");
  return JitOptions{
      .name = std::move(name), .optimize = optimize, .dump_dir = dump != nullptr ? dump : ""};
}

// Compiled outputs against eager ones; empty when they agree.
std::string compare_outputs(const CaseSpec& c, const std::vector<Tensor>& got,
                            const std::vector<Tensor>& want) {
  if (got.size() != want.size()) {
    return "eager returned " + std::to_string(want.size()) + " outputs, jit " +
           std::to_string(got.size());
  }
  for (size_t i = 0; i < got.size(); ++i) {
    std::string diff;
    if (!got[i].defined() || !want[i].defined()) {
      if (got[i].defined() != want[i].defined()) diff = "one of eager and jit returned no tensor";
    } else if (c.meta_only || want[i].is_template()) {
      if (got[i].type() != want[i].type()) {
        diff = "type: eager " + type_string(want[i].type()) + ", jit " + type_string(got[i].type());
      }
    } else {
      diff = jit_compare(got[i], want[i], jit_tolerance(want[i].dtype(), false));
    }
    if (!diff.empty()) {
      return (got.size() > 1 ? "output " + std::to_string(i) + ": " : std::string()) + diff;
    }
  }
  return {};
}

// What jit did against what eager did; empty when they agree.
std::string judge(const CaseSpec& c, const Outcome& eager, const Outcome& jit) {
  if (c.expect_error || eager.threw) {
    std::string why = c.expect_error ? "an error case" : "eager threw: " + eager.error;
    if (!jit.threw) {
      return why + "; jit returned " +
             (jit.outs.empty() ? std::string("nothing") : preview(jit.outs[0]));
    }
    if (!jit.nx_error) return why + "; jit threw " + jit.error;
    if (c.expect_error && jit.error.find("nx::") == std::string::npos) {
      return "the nx::Error jit threw does not name the op: " + jit.error;
    }
    return {};
  }
  if (jit.threw) return "jit threw " + (jit.nx_error ? "nx::Error: " : std::string()) + jit.error;
  return compare_outputs(c, jit.outs, eager.outs);
}

// The case traced and compiled with its inputs as arguments; called twice (the second call hits
// the cache), and both calls' outputs must match eager after the second one ran.
// `fused` is set when the compiled graph has fused nodes.
std::string check_traced(const CaseSpec& c, const VariantSpec& v, const Adapter& adapter,
                         const Json& attrs, const std::vector<Tensor>& in, const Outcome& eager,
                         bool optimize, bool* fused) {
  JitFunction f(
      [&](const Tree& args, const void*) { return list_of(adapter(leaves_of(args), attrs)); },
      options(jit_name(c, v, optimize), optimize));
  Tree args = list_of(in);
  Outcome first = capture([&] { return leaves_of(f(args)); });
  std::string msg = judge(c, eager, first);
  if (!msg.empty() || first.threw) return msg;
  Outcome second = capture([&] { return leaves_of(f(args)); });
  msg = judge(c, eager, second);
  if (!msg.empty()) return "first call right, second (cached) call: " + msg;
  msg = judge(c, eager, first);
  if (!msg.empty()) return "the second call overwrote the first call's outputs: " + msg;
  JitStats s = f.stats();
  if (s.compiles != 1 || s.cache_hits != 1 || s.calls != 2) {
    return "two calls with one signature: compiles " + std::to_string(s.compiles) +
           ", cache hits " + std::to_string(s.cache_hits) + ", calls " + std::to_string(s.calls);
  }
  if (fused != nullptr) *fused = f.graph_text(args).find(" = fused(") != std::string::npos;
  return {};
}

// The case compiled with its inputs closed over: they become constants of the graph, which the
// passes may fold.
std::string check_constants(const CaseSpec& c, const VariantSpec& v, const Adapter& adapter,
                            const Json& attrs, const std::vector<Tensor>& in, const Outcome& eager,
                            bool optimize) {
  JitFunction g([&](const Tree&, const void*) { return list_of(adapter(in, attrs)); },
                options(jit_name(c, v, optimize) + ":const", optimize));
  std::string msg = judge(c, eager, capture([&] { return leaves_of(g(Tree::list({}))); }));
  return msg.empty() ? msg : "inputs as constants: " + msg;
}

// An untraceable op: with traced arguments jit must throw an nx::Error that says why.
std::string check_untraceable(const CaseSpec& c, const VariantSpec& v, const Adapter& adapter,
                              const Json& attrs, const std::vector<Tensor>& in, bool optimize) {
  JitFunction f(
      [&](const Tree& args, const void*) { return list_of(adapter(leaves_of(args), attrs)); },
      options(jit_name(c, v, optimize), optimize));
  Outcome traced = capture([&] { return leaves_of(f(list_of(in))); });
  if (!traced.nx_error) {
    return "listed as untraceable, but with traced arguments jit " +
           (traced.threw ? "threw " + traced.error : std::string("succeeded"));
  }
  if (traced.error.find("trac") == std::string::npos) {
    return "with traced arguments jit threw an nx::Error that does not say the tensor is "
           "traced: " +
           traced.error;
  }
  return {};
}

}  // namespace

UlpTolerance jit_tolerance(DType d, bool grad) {
  // Measured (README.md, "Jit mode"): compiled forward results are bit-identical to eager ones
  // today, and gradients within 1 ulp (a backward sum accumulated in another order). The margin
  // leaves room for fusion that evaluates a chain without rounding in between (one rounding of
  // the output dtype per fused step: f16/bf16 results may move by one or two of their ulp).
  // Forward results get no tolerance relative to the tensor's largest element: that would hide
  // a wrong small element of an elementwise op; gradients do (their elements are sums whose
  // terms cancel).
  bool half = d == DType::F16 || d == DType::BF16;
  if (grad) return {4, 4, false};
  return {half ? 2.0 : 4.0, 0, true};
}

std::string jit_compare(const Tensor& got, const Tensor& want, UlpTolerance tol) {
  if (!got.defined()) return "jit returned an empty tensor handle";
  if (got.dtype() != want.dtype() || got.shape() != want.shape()) {
    return "type: eager " + type_string(want.type()) + ", jit " + type_string(got.type());
  }
  if (got.is_template()) return "jit returned a template (no data)";
  const DType d = want.dtype();
  const bool floating = is_float(d);
  double scale = 0.0;  // the largest finite |want|
  if (floating) {
    for (int64_t i = 0; i < want.size(); ++i) {
      double e = detail::element_as_double(want, i);
      if (std::isfinite(e)) scale = std::max(scale, std::fabs(e));
    }
  }
  const double scale_ulp = floating ? ulp_of(scale, d) : 0.0;
  int64_t bad = 0;
  double worst = 0.0, worst_scaled = 0.0;  // ulp of the element, ulp of the scale
  int64_t worst_at = -1;
  std::string details;
  for (int64_t i = 0; i < want.size(); ++i) {
    bool ok;
    if (floating) {
      double g = detail::element_as_double(got, i), e = detail::element_as_double(want, i);
      if (std::isnan(e) || std::isnan(g)) {
        ok = std::isnan(e) && std::isnan(g);
      } else if (std::isinf(e) || std::isinf(g)) {
        ok = g == e;
      } else if (tol.zero_sign && g == 0.0 && e == 0.0) {
        ok = std::signbit(g) == std::signbit(e);
      } else {
        double err = std::fabs(g - e);
        double ulps = err / ulp_of(e, d), scaled = err / scale_ulp;
        ok = ulps <= tol.ulps || scaled <= tol.scale_ulps;
        if (!ok && ulps > worst) {
          worst = ulps;
          worst_scaled = scaled;
          worst_at = i;
        }
      }
    } else {
      ok = bits_equal(got, want, i);
    }
    if (ok) continue;
    if (++bad <= kMaxReported) {
      details += "\n    at " + index_string(want.shape(), i) + ": eager " +
                 element_string(want, i) + ", jit " + element_string(got, i);
    }
  }
  if (bad == 0) return {};
  std::string msg = std::to_string(bad) + " of " + std::to_string(want.size()) +
                    " elements differ (" + std::string(dtype_name(d));
  if (floating) {
    msg += "; tolerance " + number(tol.ulps) + " ulp, or " + number(tol.scale_ulps) +
           " ulp of max|eager| = " + number(scale);
    if (worst_at >= 0) {
      msg += "; worst " + number(worst, 4) + " ulp (" + number(worst_scaled, 4) +
             " ulp of max|eager|) at " + index_string(want.shape(), worst_at);
    }
  }
  return msg + ")" + details;
}

const std::map<std::string, std::string>& untraceable_ops() {
  static const std::map<std::string, std::string> ops = {
      {"from_data", "copies the bytes of its input (Tensor::raw_data): a host-data constructor"},
      {"from_vector",
       "reads its input's values into a std::vector (Tensor::to_vector): a "
       "host-data constructor"},
      {"make_template",
       "returns a template (a type without data), which cannot be the value "
       "of a compiled function"},
  };
  return ops;
}

std::vector<JitResult> run_forward_jit(const CaseSpec& c, const VariantSpec& v) {
  std::vector<JitResult> out;
  for (const char* setting : {"optimized", "unoptimized", "constants"}) {
    const bool optimize = std::string_view(setting) != "unoptimized";
    JitResult r{.op = c.op,
                .name = c.name,
                .variant = std::string(dtype_name(v.dtype)),
                .setting = setting};
    try {
      auto it = adapters().find(c.op);
      if (it == adapters().end()) throw std::runtime_error("no adapter for op \"" + c.op + "\"");
      std::vector<Tensor> in = case_inputs(c, v);
      Json attrs = c.attrs;
      attrs["_dtype"] = std::string(dtype_name(v.dtype));
      Outcome eager = capture([&] { return it->second(in, attrs); });
      const Adapter& a = it->second;
      const bool untraceable = untraceable_ops().count(c.op) != 0;
      if (std::string_view(setting) == "constants") {
        // An untraceable op without inputs (make_template) has no constant form either.
        if (!untraceable || !in.empty())
          r.message = check_constants(c, v, a, attrs, in, eager, true);
      } else if (untraceable) {
        r.message = check_untraceable(c, v, a, attrs, in, optimize);
      } else {
        r.message = check_traced(c, v, a, attrs, in, eager, optimize, &r.fused);
      }
    } catch (const std::exception& e) {  // the harness itself: missing data, bad manifest
      r.message = std::string("harness error: ") + e.what();
    }
    r.passed = r.message.empty();
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace nx::conformance
