#include "tensor_proto.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "nx/ops/creation.hpp"

namespace onnx_conformance {
namespace {

using ::onnx::TensorProto;

nx::DType nx_dtype(int data_type) {
  switch (data_type) {
    case TensorProto::FLOAT:
      return nx::f32;
    case TensorProto::DOUBLE:
      return nx::f64;
    case TensorProto::FLOAT16:
      return nx::f16;
    case TensorProto::BFLOAT16:
      return nx::bf16;
    case TensorProto::UINT8:
      return nx::u8;
    case TensorProto::UINT16:
      return nx::u16;
    case TensorProto::UINT32:
      return nx::u32;
    case TensorProto::UINT64:
      return nx::u64;
    case TensorProto::INT8:
      return nx::s8;
    case TensorProto::INT16:
      return nx::s16;
    case TensorProto::INT32:
      return nx::s32;
    case TensorProto::INT64:
      return nx::s64;
    case TensorProto::BOOL:
      return nx::pred;
    default:
      throw std::runtime_error("tensor of dtype " + onnx_dtype_name(data_type) +
                               " (nx has no such dtype)");
  }
}

// Appends the low `bytes` bytes of each value (little endian, like raw_data).
template <class T>
void append_narrow(std::vector<char>& out, const T& values, int bytes) {
  for (auto v : values) {
    auto bits = static_cast<uint64_t>(v);
    for (int b = 0; b < bytes; ++b) out.push_back(static_cast<char>((bits >> (8 * b)) & 0xff));
  }
}

std::string shape_string(const nx::Shape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

}  // namespace

std::string onnx_dtype_name(int data_type) {
  if (TensorProto::DataType_IsValid(data_type)) {
    return TensorProto::DataType_Name(static_cast<TensorProto::DataType>(data_type));
  }
  return "dtype " + std::to_string(data_type);
}

TensorProto read_tensor_proto(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  TensorProto proto;
  if (!in || !proto.ParseFromIstream(&in)) {
    throw std::runtime_error("cannot parse TensorProto " + path.string());
  }
  return proto;
}

nx::Tensor to_tensor(const TensorProto& proto) {
  nx::DType dtype = nx_dtype(proto.data_type());
  nx::Shape shape(proto.dims().begin(), proto.dims().end());
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  const int width = nx::byte_size(dtype);
  std::vector<char> bytes;
  if (proto.has_raw_data()) {
    bytes.assign(proto.raw_data().begin(), proto.raw_data().end());
  } else {
    switch (proto.data_type()) {
      case TensorProto::FLOAT:
        for (float f : proto.float_data()) {
          char b[4];
          std::memcpy(b, &f, 4);
          bytes.insert(bytes.end(), b, b + 4);
        }
        break;
      case TensorProto::DOUBLE:
        for (double f : proto.double_data()) {
          char b[8];
          std::memcpy(b, &f, 8);
          bytes.insert(bytes.end(), b, b + 8);
        }
        break;
      case TensorProto::INT64:
        append_narrow(bytes, proto.int64_data(), 8);
        break;
      case TensorProto::UINT32:
      case TensorProto::UINT64:
        append_narrow(bytes, proto.uint64_data(), width);
        break;
      default:
        append_narrow(bytes, proto.int32_data(), width);
        break;  // narrow ints, bool, f16
    }
  }
  if (static_cast<int64_t>(bytes.size()) != count * width) {
    throw std::runtime_error("TensorProto " + proto.name() + ": " + std::to_string(bytes.size()) +
                             " bytes of data for " + std::to_string(count) + " elements of " +
                             onnx_dtype_name(proto.data_type()));
  }
  return nx::from_data(bytes.data(), shape, dtype);
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
