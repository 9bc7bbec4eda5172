// The op conformance harness: runs every case of tests/conformance/data/manifest.json (made by
// gen_reference.py from cases.py) through the adapter of its op and compares with NumPy/PyTorch.
//
//   ctest -L conformance                                   # everything, with coverage checks
//   ./conformance_tests --gtest_filter='*conv_*'           # some cases (coverage check skipped)
//
// One test per case variant, named <case>_<dtype>. After the last variant, a final test checks
// that every primitive of primitives.def ran in some passing case and writes
// conformance_report.md/.json (op x dtype matrix) into the build directory. Two more tests check
// that every op declared in include/nx/ops/*.hpp has a case and every case an adapter.
//
// Later modes (gradients by central differences, performance) will reuse the manifest and the
// adapters: a mode is another test body over the same parameters.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <iostream>
#include <set>
#include <stdexcept>

#include "compare.hpp"
#include "coverage.hpp"
#include "nx/core/dispatch.hpp"

#ifndef NX_SOURCE_DIR
#error "NX_SOURCE_DIR must name the source tree"
#endif
#ifndef NX_CONFORMANCE_REPORT_DIR
#error "NX_CONFORMANCE_REPORT_DIR must name the directory for the report"
#endif

namespace nx::conformance {
namespace {

/// A case variant, or (case_index < 0) the coverage check that runs after all of them.
struct Param {
  int case_index = -1;
  int variant_index = -1;
};

// gtest prints parameters on failure: name the case, not its bytes.
void PrintTo(const Param& p, std::ostream* os) {
  if (p.case_index < 0) {
    *os << "coverage check";
    return;
  }
  const CaseSpec& c = manifest().cases[static_cast<size_t>(p.case_index)];
  *os << c.name << " [" << dtype_name(c.variants[static_cast<size_t>(p.variant_index)].dtype)
      << "]";
}

// Set when the manifest cannot be read; the final test reports it (an exception thrown while
// gtest registers the parameters would abort the whole binary without a useful message).
std::string& manifest_error() {
  static std::string message;
  return message;
}

std::vector<Param> params() {
  std::vector<Param> out;
  try {
    manifest();
  } catch (const std::exception& e) {
    manifest_error() = e.what();
    return {Param{}};
  }
  const auto& cases = manifest().cases;
  for (size_t c = 0; c < cases.size(); ++c) {
    for (size_t v = 0; v < cases[c].variants.size(); ++v) {
      out.push_back({static_cast<int>(c), static_cast<int>(v)});
    }
  }
  out.push_back({});  // last: the coverage check and the report
  return out;
}

size_t num_variants() {
  size_t n = 0;
  for (const CaseSpec& c : manifest().cases) n += c.variants.size();
  return n;
}

std::string test_name(const testing::TestParamInfo<Param>& info) {
  if (info.param.case_index < 0) return "zz_coverage_and_report";
  const CaseSpec& c = manifest().cases[static_cast<size_t>(info.param.case_index)];
  std::string name = test_name_of(c.name);
  return name + "_" +
         std::string(dtype_name(c.variants[static_cast<size_t>(info.param.variant_index)].dtype));
}

std::array<uint64_t, detail::kNumPrims> prim_counts() {
  std::array<uint64_t, detail::kNumPrims> out{};
  const auto& counts = detail::prim_call_counts();
  for (size_t i = 0; i < out.size(); ++i) out[i] = counts[i].load(std::memory_order_relaxed);
  return out;
}

// attrs "repeat": k stands for k copies of the stored array stacked along axis 0, for the
// inputs listed in "repeat_inputs" (default: all) and for every output. Elementwise ops, and
// reductions that leave axis 0 alone, commute with it, so large tensors (vectorised and
// multi-threaded kernel paths) need only a small tile of reference data. The copies are made
// byte by byte here, not with nx ops, which are what is under test.
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

// Runs the op and fills r.status / r.message.
void run(const CaseSpec& c, const VariantSpec& v, Result& r) {
  auto adapter = adapters().find(c.op);
  if (adapter == adapters().end()) {
    r.message = "no adapter registered for op \"" + c.op + "\"";
    return;
  }
  std::vector<Tensor> in;
  for (size_t i = 0; i < v.inputs.size(); ++i) {
    Tensor t = load_array(c, v.inputs[i]);
    in.push_back(repeats_input(c.attrs, i) ? repeat_rows(t, c.attrs["repeat"].get<int64_t>()) : t);
  }
  Json attrs = c.attrs;
  attrs["_dtype"] = std::string(dtype_name(v.dtype));

  std::vector<Tensor> out;
  try {
    out = adapter->second(in, attrs);
  } catch (const Error& e) {
    std::string what = e.what();
    if (!c.expect_error) {
      r.message = "threw nx::Error: " + what;
    } else if (what.find("nx::") == std::string::npos) {
      r.message = "the nx::Error does not name the op: " + what;
    } else {
      r.status = Status::Pass;
    }
    return;
  } catch (const std::exception& e) {
    r.message = std::string("threw a non-nx::Error exception: ") + e.what();
    return;
  }
  if (c.expect_error) {
    r.message =
        "expected nx::Error, got " + (out.empty() ? std::string("nothing") : preview(out[0]));
    return;
  }
  if (out.size() != v.outputs.size()) {
    r.message = "expected " + std::to_string(v.outputs.size()) + " outputs, got " +
                std::to_string(out.size());
    return;
  }
  for (size_t i = 0; i < out.size(); ++i) {
    Tensor want = load_array(c, v.outputs[i]);
    if (c.attrs.contains("repeat")) want = repeat_rows(want, c.attrs["repeat"].get<int64_t>());
    std::string diff =
        compare(out[i], want, manifest().tolerance_for(c, want.dtype()), c.meta_only);
    if (!diff.empty()) {
      r.message = (out.size() > 1 ? "output " + std::to_string(i) + ": " : std::string()) + diff;
      return;
    }
  }
  r.status = Status::Pass;
}

class Conformance : public testing::TestWithParam<Param> {};

TEST_P(Conformance, Run) {
  const Param p = GetParam();
  if (p.case_index < 0) {
    ASSERT_TRUE(manifest_error().empty()) << "cannot load the manifest: " << manifest_error();
    std::set<std::string> ops =
        declared_ops(std::filesystem::path(NX_SOURCE_DIR) / "include/nx/ops");
    std::string report = write_report(results(), ops, NX_CONFORMANCE_REPORT_DIR);
    std::cout << report.substr(0, report.find("\n## Primitives")) << "\nReport written to "
              << NX_CONFORMANCE_REPORT_DIR << "/conformance_report.{md,json}\n";
    if (results().size() != num_variants()) {
      GTEST_SKIP() << "only " << results().size() << " of " << num_variants()
                   << " variants ran (filtered): primitive coverage needs them all";
    }
    std::vector<std::string> missing = unexercised_primitives(results());
    std::string list;
    for (const auto& m : missing) list += " " + m;
    EXPECT_TRUE(missing.empty()) << "primitives no passing case ran:" << list;
    return;
  }
  const CaseSpec& c = manifest().cases[static_cast<size_t>(p.case_index)];
  const VariantSpec& v = c.variants[static_cast<size_t>(p.variant_index)];
  Result r{&c, v.dtype, Status::Fail, {}, {}};
  auto before = prim_counts();
  try {
    run(c, v, r);
  } catch (const std::exception& e) {  // the harness itself: missing data, bad manifest
    r.status = Status::Fail;
    r.message = std::string("harness error: ") + e.what();
  }
  auto after = prim_counts();
  for (int i = 0; i < detail::kNumPrims; ++i) {
    if (after[static_cast<size_t>(i)] != before[static_cast<size_t>(i)]) r.prims.push_back(i);
  }
  results().push_back(r);
  if (r.status == Status::Fail) {
    ADD_FAILURE() << c.name << " [" << dtype_name(v.dtype) << "] (nx::" << c.op
                  << "): " << r.message;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, Conformance, testing::ValuesIn(params()), test_name);

TEST(ConformanceCoverage, EveryPublicOpHasACase) {
  std::set<std::string> declared =
      declared_ops(std::filesystem::path(NX_SOURCE_DIR) / "include/nx/ops");
  ASSERT_GT(declared.size(), 50u) << "the header parser found too few ops";
  std::set<std::string> covered, named;
  for (const CaseSpec& c : manifest().cases) {
    named.insert(c.op);
    if (!c.expect_error) covered.insert(c.op);
  }
  std::string missing, unknown;
  for (const auto& op : declared)
    if (!covered.count(op)) missing += " " + op;
  for (const auto& op : named)
    if (!declared.count(op) && op.rfind("prim:", 0) != 0) unknown += " " + op;
  EXPECT_TRUE(missing.empty()) << "public ops without a (non-error) case in cases.py:" << missing;
  EXPECT_TRUE(unknown.empty()) << "cases name ops that no header declares:" << unknown;
}

TEST(ConformanceCoverage, EveryCaseHasAnAdapter) {
  std::set<std::string> missing;
  for (const CaseSpec& c : manifest().cases)
    if (!adapters().count(c.op)) missing.insert(c.op);
  std::string list;
  for (const auto& op : missing) list += " " + op;
  EXPECT_TRUE(missing.empty()) << "ops with cases but no adapter:" << list;
}

}  // namespace
}  // namespace nx::conformance
