// Every elementwise primitive (Unary, Binary, Compare, Ternary, Convert groups) on every dtype
// it admits, against reference values made by gen_elementwise_reference.py (mpmath and exact
// rational arithmetic, independent of these kernels): special values, integer extremes, and
// broadcasting through the same-shape, one-value and general paths.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>
#include <string>

#include "elementwise_test_util.hpp"

namespace nx::ew_test {
namespace {

struct RefCase {
  const char* op;
  const char* dtype;      ///< operand dtype (select: of on_true/on_false; convert: the source)
  const char* out_dtype;  ///< result dtype
  int ulps;               ///< tolerance for float results
  int arity;
  const char* shapes;  ///< operand shapes then the result's, ';'-separated, dims ','-separated
  size_t offset;       ///< into kRefBits: each operand's bits, then the expected bits
};

#include "elementwise_reference.inc"

std::vector<Shape> parse_shapes(std::string_view s) {
  std::vector<Shape> out(1);
  std::string num;
  auto flush = [&] {
    if (!num.empty()) out.back().push_back(std::stoll(num));
    num.clear();
  };
  for (char c : s) {
    if (c == ';') {
      flush();
      out.emplace_back();
    } else if (c == ',') {
      flush();
    } else {
      num += c;
    }
  }
  flush();
  return out;
}

std::string describe(const RefCase& c) {
  std::ostringstream os;
  os << c.op << " " << c.dtype << " -> " << c.out_dtype << " shapes " << c.shapes;
  return os.str();
}

/// Returns the number of result elements checked.
size_t run_case(const RefCase& c) {
  SCOPED_TRACE(describe(c));
  const DType dt = parse_dtype(c.dtype), out_dt = parse_dtype(c.out_dtype);
  const std::vector<Shape> shapes = parse_shapes(c.shapes);
  if (shapes.size() != static_cast<size_t>(c.arity) + 1) {
    ADD_FAILURE() << "bad shapes";
    return 0;
  }
  const uint64_t* bits = kRefBits + c.offset;
  std::vector<Tensor> in;
  for (int i = 0; i < c.arity; ++i) {
    DType d = std::string_view(c.op) == "select" && i == 0 ? DType::Pred : dt;
    in.push_back(from_bits(bits, shapes[static_cast<size_t>(i)], d));
    bits += num_elements(shapes[static_cast<size_t>(i)]);
  }
  const Prim p = prim_named(c.op);
  const detail::Params params = std::string_view(c.op) == "convert"
                                    ? detail::Params{detail::ConvertParams{out_dt}}
                                    : detail::Params{detail::NoParams{}};
  Tensor out = detail::bind1(p, std::span<const Tensor>(in), params);
  EXPECT_EQ(out.dtype(), out_dt);
  EXPECT_EQ(out.shape(), shapes.back());
  if (out.dtype() != out_dt || out.shape() != shapes.back()) return 0;
  const std::vector<uint64_t> got = to_bits(out);
  int failures = 0;
  for (size_t i = 0; i < got.size() && failures < 8; ++i) {
    if (bits_match(got[i], bits[i], out_dt, static_cast<uint64_t>(c.ulps))) continue;
    ++failures;
    std::ostringstream operands;
    for (const Tensor& t : in) {
      if (t.size() == static_cast<int64_t>(got.size())) {
        operands << " " << show_bits(to_bits(t)[i], t.dtype());
      }
    }
    ADD_FAILURE() << "element " << i << ": got " << show_bits(got[i], out_dt) << ", want "
                  << show_bits(bits[i], out_dt) << " (tolerance " << c.ulps
                  << " ulp); operands:" << operands.str();
  }
  return got.size();
}

TEST(ElementwiseReferenceKernels, AllCasesMatch) {
  size_t checked = 0;
  for (const RefCase& c : kRefCases) checked += run_case(c);
  EXPECT_GT(checked, 20000u);  // the table was read
}

// The generator reads primitives.def; this checks that the table it wrote is current: every
// elementwise primitive has a case for every dtype its class admits.
TEST(ElementwiseReferenceKernels, EveryPrimitiveAndDTypeIsCovered) {
  std::map<std::string, std::set<std::string>> covered;
  for (const RefCase& c : kRefCases) covered[c.op].insert(c.dtype);
  for (const auto& info : detail::kPrimInfo) {
    using detail::PrimGroup;
    if (info.group != PrimGroup::Unary && info.group != PrimGroup::Binary &&
        info.group != PrimGroup::Compare && info.group != PrimGroup::Ternary) {
      continue;
    }
    for (int d = 0; d < kNumDTypes; ++d) {
      const DType dt = static_cast<DType>(d);
      bool admitted = true;
      switch (info.dtypes) {
        case detail::DTypeClass::Any:
          break;
        case detail::DTypeClass::Numeric:
          admitted = is_numeric(dt);
          break;
        case detail::DTypeClass::Float:
          admitted = is_float(dt);
          break;
        case detail::DTypeClass::Integer:
          admitted = is_integer(dt);
          break;
        case detail::DTypeClass::IntPred:
          admitted = is_integer(dt) || dt == DType::Pred;
          break;
      }
      if (admitted) {
        EXPECT_TRUE(covered[std::string(info.name)].count(std::string(dtype_name(dt))))
            << info.name << " has no reference case for " << dtype_name(dt);
      }
    }
  }
  for (int from = 0; from < kNumDTypes; ++from) {
    EXPECT_TRUE(covered["convert"].count(std::string(dtype_name(static_cast<DType>(from)))));
  }
}

}  // namespace
}  // namespace nx::ew_test
