// Decoding ONNX TensorProtos (initializers, Constant values, attribute tensors) into nx tensors:
// raw_data, the typed repeated fields, and external data files. Every size is checked against
// what the data holds before anything is allocated, so a hostile file cannot make us allocate
// more than it contains.
#include <cstring>
#include <fstream>
#include <limits>

#include "axon/onnx/importer.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"

namespace axon::onnx_import {

namespace {

using ::onnx::TensorProto;

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw nx::Error(where + ": " + what);
}

// The element count of dims, or an error when a dim is negative or the product overflows.
int64_t checked_count(const TensorProto& t, const std::string& where) {
  int64_t n = 1;
  for (int64_t d : t.dims()) {
    if (d < 0) fail(where, "negative dimension " + std::to_string(d));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / 16 / d) {
      fail(where, "its dimensions' product overflows");
    }
    n *= d;
  }
  return n;
}

// Bytes read from an external data file (offset/length checked against its size).
std::vector<uint8_t> read_external(const TensorProto& t, const ImportContext& ctx,
                                   const std::string& where, int64_t want) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : t.external_data()) {
    auto parse = [&](const std::string& v) -> int64_t {
      try {
        size_t used = 0;
        long long x = std::stoll(v, &used);
        if (used != v.size() || x < 0) throw std::invalid_argument(v);
        return x;
      } catch (const std::exception&) {
        fail(where, "external data " + kv.key() + " '" + v + "' is not a non-negative integer");
      }
    };
    if (kv.key() == "location")
      location = kv.value();
    else if (kv.key() == "offset")
      offset = parse(kv.value());
    else if (kv.key() == "length")
      length = parse(kv.value());
  }
  if (location.empty()) fail(where, "external data without a location");
  if (ctx.base_dir.empty()) {
    fail(where, "its data is in an external file (" + location +
                    "), which needs the model's directory: use import_file");
  }
  std::filesystem::path rel(location);
  if (rel.is_absolute()) fail(where, "external data location " + location + " is absolute");
  for (const auto& part : rel) {
    if (part == "..")
      fail(where, "external data location " + location + " leaves the model's directory");
  }
  std::filesystem::path file = ctx.base_dir / rel;
  std::error_code ec;
  auto size = std::filesystem::file_size(file, ec);
  if (ec) fail(where, "cannot read external data file " + file.string() + ": " + ec.message());
  if (length < 0) length = want;
  if (length != want) {
    fail(where, "external data length " + std::to_string(length) + " does not match its shape (" +
                    std::to_string(want) + " bytes)");
  }
  if (offset > static_cast<int64_t>(size) || length > static_cast<int64_t>(size) - offset) {
    fail(where, "external data range [" + std::to_string(offset) + ", " +
                    std::to_string(offset + length) + ") is past the end of " + file.string() +
                    " (" + std::to_string(size) + " bytes)");
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(length));
  std::ifstream in(file, std::ios::binary);
  in.seekg(offset);
  in.read(reinterpret_cast<char*>(bytes.data()), length);
  if (!in) fail(where, "reading external data from " + file.string() + " failed");
  return bytes;
}

template <class Src, class Dst>
std::vector<uint8_t> narrow(const google::protobuf::RepeatedField<Src>& f) {
  std::vector<uint8_t> out(static_cast<size_t>(f.size()) * sizeof(Dst));
  Dst* p = reinterpret_cast<Dst*>(out.data());
  for (int i = 0; i < f.size(); ++i) p[i] = static_cast<Dst>(f.Get(i));
  return out;
}

// The bytes of the typed field that holds elem_type's data, and its element count.
std::vector<uint8_t> typed_bytes(const TensorProto& t, nx::DType dt, int64_t* count) {
  switch (t.data_type()) {
    case TensorProto::FLOAT:
      *count = t.float_data_size();
      return narrow<float, float>(t.float_data());
    case TensorProto::DOUBLE:
      *count = t.double_data_size();
      return narrow<double, double>(t.double_data());
    case TensorProto::INT64:
      *count = t.int64_data_size();
      return narrow<int64_t, int64_t>(t.int64_data());
    case TensorProto::UINT32:
      *count = t.uint64_data_size();
      return narrow<uint64_t, uint32_t>(t.uint64_data());
    case TensorProto::UINT64:
      *count = t.uint64_data_size();
      return narrow<uint64_t, uint64_t>(t.uint64_data());
    case TensorProto::INT32:
      *count = t.int32_data_size();
      return narrow<int32_t, int32_t>(t.int32_data());
    case TensorProto::INT16:
      *count = t.int32_data_size();
      return narrow<int32_t, int16_t>(t.int32_data());
    case TensorProto::UINT16:
    case TensorProto::FLOAT16:
    case TensorProto::BFLOAT16:
      *count = t.int32_data_size();
      return narrow<int32_t, uint16_t>(t.int32_data());
    case TensorProto::INT8:
      *count = t.int32_data_size();
      return narrow<int32_t, int8_t>(t.int32_data());
    case TensorProto::UINT8:
      *count = t.int32_data_size();
      return narrow<int32_t, uint8_t>(t.int32_data());
    case TensorProto::BOOL: {
      *count = t.int32_data_size();
      std::vector<uint8_t> out(static_cast<size_t>(t.int32_data_size()));
      for (int i = 0; i < t.int32_data_size(); ++i) out[i] = t.int32_data(i) != 0;
      return out;
    }
    default:
      break;
  }
  (void)dt;
  *count = 0;
  return {};
}

}  // namespace

std::string onnx_type_name(int32_t elem_type) {
  if (TensorProto::DataType_IsValid(elem_type)) {
    return TensorProto::DataType_Name(static_cast<TensorProto::DataType>(elem_type));
  }
  return "type " + std::to_string(elem_type);
}

nx::DType dtype_from_onnx(int32_t elem_type, const std::string& where) {
  switch (elem_type) {
    case TensorProto::FLOAT:
      return nx::f32;
    case TensorProto::DOUBLE:
      return nx::f64;
    case TensorProto::FLOAT16:
      return nx::f16;
    case TensorProto::BFLOAT16:
      return nx::bf16;
    case TensorProto::INT8:
      return nx::s8;
    case TensorProto::INT16:
      return nx::s16;
    case TensorProto::INT32:
      return nx::s32;
    case TensorProto::INT64:
      return nx::s64;
    case TensorProto::UINT8:
      return nx::u8;
    case TensorProto::UINT16:
      return nx::u16;
    case TensorProto::UINT32:
      return nx::u32;
    case TensorProto::UINT64:
      return nx::u64;
    case TensorProto::BOOL:
      return nx::pred;
    default:
      break;
  }
  throw nx::Error(where + ": element type " + onnx_type_name(elem_type) +
                  " is not supported (nx has float, double, float16, bfloat16, int8..int64, "
                  "uint8..uint64 and bool)");
}

nx::Tensor tensor_from_proto(const TensorProto& t, const ImportContext& ctx,
                             const std::string& where) {
  nx::DType dt = dtype_from_onnx(t.data_type(), where);
  if (t.has_segment()) fail(where, "segmented tensors are not supported");
  int64_t n = checked_count(t, where);
  int64_t want = n * nx::byte_size(dt);
  nx::Shape shape(t.dims().begin(), t.dims().end());
  std::vector<uint8_t> bytes;
  if (t.data_location() == TensorProto::EXTERNAL) {
    bytes = read_external(t, ctx, where, want);
  } else if (t.has_raw_data()) {
    const std::string& raw = t.raw_data();
    if (static_cast<int64_t>(raw.size()) != want) {
      fail(where, "raw_data holds " + std::to_string(raw.size()) + " bytes, its shape " +
                      nx::shape_repr(shape) + " of " + std::string(nx::dtype_name(dt)) + " needs " +
                      std::to_string(want));
    }
    bytes.assign(raw.begin(), raw.end());
  } else {
    int64_t count = 0;
    bytes = typed_bytes(t, dt, &count);
    if (count != n) {
      fail(where, "holds " + std::to_string(count) + " values, its shape " + nx::shape_repr(shape) +
                      " needs " + std::to_string(n));
    }
  }
  if (dt == nx::pred) {
    for (auto& b : bytes) b = b != 0;
  }
  return nx::from_data(bytes.data(), shape, dt);
}

}  // namespace axon::onnx_import
