#include "tensor_proto.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "axon/onnx/importer.hpp"
#include "nx/ops/creation.hpp"

namespace onnx_conformance {
namespace {

using ::onnx::TensorProto;

std::string shape_string(const nx::Shape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

}  // namespace

std::string onnx_dtype_name(int data_type) {
  return axon::onnx_import::onnx_type_name(data_type);
}

TensorProto read_tensor_proto(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  TensorProto proto;
  if (!in || !proto.ParseFromIstream(&in)) {
    throw std::runtime_error("cannot parse TensorProto " + path.string());
  }
  return proto;
}

// The importer's decoder, so that the runner reads test data exactly as models read their
// initializers (no external data: node tests have none).
nx::Tensor to_tensor(const TensorProto& proto) {
  return axon::onnx_import::tensor_from_proto(proto, axon::onnx_import::ImportContext{},
                                              "TensorProto " + proto.name());
}

std::string compare(const nx::Tensor& actual, const nx::Tensor& expected, double rtol,
                    double atol) {
  if (actual.dtype() != expected.dtype()) {
    return "dtype " + std::string(nx::dtype_name(actual.dtype())) + ", expected " +
           std::string(nx::dtype_name(expected.dtype()));
  }
  if (actual.shape() != expected.shape()) {
    return "shape " + shape_string(actual.shape()) + ", expected " + shape_string(expected.shape());
  }
  const nx::DType t = expected.dtype();
  std::ostringstream why;
  if (nx::is_float(t)) {
    // One bfloat16 ulp: onnx 1.12's Cast reference truncates to bfloat16 where the IEEE default
    // (and nx) rounds to nearest even.
    if (t == nx::bf16) rtol = std::max(rtol, 1.0 / 128);
    std::vector<double> a = actual.to_vector<double>(), e = expected.to_vector<double>();
    int64_t bad = 0, first = -1;
    double worst = 0;
    for (size_t i = 0; i < e.size(); ++i) {
      bool ok;
      if (std::isnan(e[i]) || std::isnan(a[i])) {
        ok = std::isnan(e[i]) && std::isnan(a[i]);
      } else if (std::isinf(e[i]) || std::isinf(a[i])) {
        ok = a[i] == e[i];
      } else {
        double err = std::fabs(a[i] - e[i]);
        ok = err <= atol + rtol * std::fabs(e[i]);
        if (!ok) worst = std::max(worst, err);
      }
      if (!ok && bad++ == 0) first = static_cast<int64_t>(i);
    }
    if (bad == 0) return "";
    why << bad << "/" << e.size() << " values differ (max abs error " << worst << "); first at "
        << first << ": " << a[first] << ", expected " << e[first];
    return why.str();
  }
  int64_t bad = 0, first = -1;
  if (nx::is_unsigned_int(t)) {
    std::vector<uint64_t> a = actual.to_vector<uint64_t>(), e = expected.to_vector<uint64_t>();
    for (size_t i = 0; i < e.size(); ++i) {
      if (a[i] != e[i] && bad++ == 0) first = static_cast<int64_t>(i);
    }
    if (bad == 0) return "";
    why << bad << "/" << e.size() << " values differ; first at " << first << ": " << a[first]
        << ", expected " << e[first];
    return why.str();
  }
  std::vector<int64_t> a = actual.to_vector<int64_t>(), e = expected.to_vector<int64_t>();
  for (size_t i = 0; i < e.size(); ++i) {
    if (a[i] != e[i] && bad++ == 0) first = static_cast<int64_t>(i);
  }
  if (bad == 0) return "";
  why << bad << "/" << e.size() << " values differ; first at " << first << ": " << a[first]
      << ", expected " << e[first];
  return why.str();
}

}  // namespace onnx_conformance
