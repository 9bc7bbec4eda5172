// safetensors (https://github.com/huggingface/safetensors, README "Format"):
//
//   8 bytes   N, little-endian u64: the header size
//   N bytes   UTF-8 JSON object, starting with '{' and possibly padded with spaces:
//             {"__metadata__": {"k": "v"}, "name": {"dtype": "F32", "shape": [2, 3],
//                                                   "data_offsets": [begin, end]}, ...}
//   the rest  the byte buffer; offsets are relative to its start
//
// On top of JSON syntax the loader enforces the format's rules as the reference implementation
// does: N at most 100,000,000; every entry has exactly dtype, shape and data_offsets; end - begin
// equals the shape's element count times the dtype size; the ranges, sorted, start at 0, follow
// each other without holes or overlaps, and end exactly at the end of the buffer; __metadata__
// maps strings to strings.
#include <algorithm>

#include "../core/tensor_impl.hpp"
#include "array_layout.hpp"
#include "json.hpp"
#include "named.hpp"
#include "nx/io.hpp"

namespace nx::io {

namespace {

using detail::fail;
using detail::Json;

constexpr uint64_t kMaxHeader = 100'000'000;  // the reference implementation's limit
constexpr const char* kMetadataKey = "__metadata__";

struct DTypeName {
  const char* name;
  DType dtype;
};
constexpr DTypeName kDTypes[] = {{"BOOL", DType::Pred}, {"U8", DType::U8},   {"I8", DType::S8},
                                 {"I16", DType::S16},   {"U16", DType::U16}, {"F16", DType::F16},
                                 {"BF16", DType::BF16}, {"I32", DType::S32}, {"U32", DType::U32},
                                 {"F32", DType::F32},   {"F64", DType::F64}, {"I64", DType::S64},
                                 {"U64", DType::U64}};

const char* safetensors_name(DType t) {
  for (const auto& d : kDTypes) {
    if (d.dtype == t) return d.name;
  }
  return "?";
}

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
};

Entry parse_entry(const std::string& name, const Json& info, const std::string& where) {
  const std::string what = "tensor \"" + name + "\"";
  if (info.type != Json::Type::Object)
    fail(where, what + " must be an object, got " + json_type_name(info.type));
  const Json *dtype = nullptr, *shape = nullptr, *offsets = nullptr;
  for (size_t i = 0; i < info.keys.size(); ++i) {
    const std::string& key = info.keys[i];
    const Json& v = info.items[i];
    if (key == "dtype")
      dtype = &v;
    else if (key == "shape")
      shape = &v;
    else if (key == "data_offsets")
      offsets = &v;
    else
      fail(where, what + " has the unknown field \"" + key + "\"");
  }
  if (!dtype || !shape || !offsets)
    fail(where, what + " needs \"dtype\", \"shape\" and \"data_offsets\"");
  Entry e{name, DType::F32, {}, 0, 0};
  if (dtype->type != Json::Type::String) fail(where, what + ": \"dtype\" must be a string");
  auto it = std::find_if(std::begin(kDTypes), std::end(kDTypes),
                         [&](const DTypeName& d) { return dtype->text == d.name; });
  if (it == std::end(kDTypes))
    fail(where, what + " has the unsupported dtype \"" + dtype->text + "\"");
  e.dtype = it->dtype;
  if (shape->type != Json::Type::Array) fail(where, what + ": \"shape\" must be an array");
  for (const Json& d : shape->items) {
    uint64_t v = detail::json_u64(d, where, what + ": a dimension");
    if (v > static_cast<uint64_t>(INT64_MAX))
      fail(where, what + ": a dimension does not fit in 63 bits");
    e.shape.push_back(static_cast<int64_t>(v));
  }
  if (offsets->type != Json::Type::Array || offsets->items.size() != 2) {
    fail(where, what + ": \"data_offsets\" must be an array [begin, end]");
  }
  e.begin = detail::json_u64(offsets->items[0], where, what + ": the begin offset");
  e.end = detail::json_u64(offsets->items[1], where, what + ": the end offset");
  if (e.end < e.begin)
    fail(where, what + " has data_offsets [" + std::to_string(e.begin) + ", " +
                    std::to_string(e.end) + "] that end before they begin");
  uint64_t bytes = detail::checked_byte_size(
      detail::checked_num_elements(e.shape, where + " (" + what + ")"), e.dtype, where);
  if (e.end - e.begin != bytes) {
    fail(where, what + " is " + type_string({e.shape, e.dtype}) + " (" + std::to_string(bytes) +
                    " bytes) but its data_offsets span " + std::to_string(e.end - e.begin) +
                    " bytes");
  }
  return e;
}

Safetensors read_safetensors(const detail::RandomAccess& src, const std::string& where) {
  uint8_t len[8];
  if (src.size() < 8) fail(where, "truncated data: too short for the 8-byte header size");
  src.read_at(0, len, 8, where);
  uint64_t n = detail::load_le<uint64_t>(len);
  if (n > kMaxHeader)
    fail(where,
         "the header size " + std::to_string(n) + " is over the format's limit of 100000000 bytes");
  if (n > src.size() - 8) {
    fail(where, "the header claims " + std::to_string(n) + " bytes but only " +
                    std::to_string(src.size() - 8) + " follow");
  }
  std::string header(n, '\0');
  src.read_at(8, header.data(), n, where);
  if (header.empty() || header[0] != '{') fail(where, "the header must start with '{'");
  Json root = detail::parse_json(header, where);

  Safetensors out;
  std::vector<Entry> entries;
  for (size_t i = 0; i < root.keys.size(); ++i) {
    const std::string& key = root.keys[i];
    const Json& v = root.items[i];
    if (key == kMetadataKey) {
      if (v.type != Json::Type::Object)
        fail(where, "\"__metadata__\" must be an object of strings");
      for (size_t k = 0; k < v.keys.size(); ++k) {
        const std::string& mk = v.keys[k];
        const Json& mv = v.items[k];
        if (mv.type != Json::Type::String) {
          fail(where, "\"__metadata__\" value \"" + mk + "\" must be a string, got " +
                          json_type_name(mv.type));
        }
        out.metadata.emplace(mk, mv.text);
      }
      continue;
    }
    entries.push_back(parse_entry(key, v, where));
  }

  const uint64_t data_start = 8 + n, buffer = src.size() - data_start;
  std::vector<const Entry*> sorted;
  for (const Entry& e : entries) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t expected = 0;
  for (const Entry* e : sorted) {
    if (e->begin != expected) {
      fail(where, "tensor \"" + e->name + "\" starts at " + std::to_string(e->begin) +
                      " but the previous data ends at " + std::to_string(expected) +
                      (e->begin < expected ? " (overlap)" : " (hole)"));
    }
    expected = e->end;
  }
  if (expected != buffer) {
    fail(where, "the tensors cover " + std::to_string(expected) +
                    " bytes but the data buffer has " + std::to_string(buffer));
  }

  Tree::Map tensors;
  tensors.reserve(entries.size());
  for (const Entry& e : entries) {
    Tensor t = nx::detail::make_tensor(TensorType{e.shape, e.dtype});
    src.read_at(data_start + e.begin, nx::detail::mutable_data(t), e.end - e.begin, where);
    detail::fix_elements(t, false);
    tensors.emplace_back(e.name, Tree(std::move(t)));
  }
  out.tensors = Tree(std::move(tensors));
  return out;
}

void write_safetensors(detail::Writer& w, const Tree& tensors, const Metadata& metadata,
                       const std::string& where) {
  std::vector<PathLeaf> leaves = detail::named_leaves(tensors, where);
  std::string header = "{";
  if (!metadata.empty()) {
    header += std::string("\"") + kMetadataKey + "\":{";
    bool first = true;
    for (const auto& [k, v] : metadata) {
      if (!detail::is_valid_utf8(k) || !detail::is_valid_utf8(v))
        fail(where, "metadata \"" + k + "\" is not valid UTF-8");
      header += (first ? "" : ",") + detail::json_quote(k) + ":" + detail::json_quote(v);
      first = false;
    }
    header += "}";
  }
  uint64_t offset = 0;
  for (const PathLeaf& l : leaves) {
    if (l.path == kMetadataKey) fail(where, "a tensor cannot be named \"__metadata__\"");
    if (!detail::is_valid_utf8(l.path))
      fail(where, "the tensor name \"" + l.path + "\" is not valid UTF-8");
    std::string shape;
    for (int64_t d : l.tensor.shape()) shape += (shape.empty() ? "" : ",") + std::to_string(d);
    uint64_t bytes = static_cast<uint64_t>(l.tensor.byte_size());
    header += (header.size() > 1 ? "," : "") + detail::json_quote(l.path) + ":{\"dtype\":\"" +
              safetensors_name(l.tensor.dtype()) + "\",\"shape\":[" + shape +
              "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + bytes) + "]}";
    offset += bytes;
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');  // the data buffer starts 8-byte aligned
  std::vector<uint8_t> len;
  detail::store_le<uint64_t>(len, header.size());
  w.write(len.data(), len.size());
  w.write(header.data(), header.size());
  for (const PathLeaf& l : leaves)
    w.write(l.tensor.raw_data(), static_cast<uint64_t>(l.tensor.byte_size()));
}

}  // namespace

Bytes encode_safetensors(const Tree& tensors, const Metadata& metadata) {
  Bytes out;
  detail::VectorWriter w(out);
  write_safetensors(w, tensors, metadata, "nx::io::encode_safetensors");
  return out;
}

Safetensors decode_safetensors(std::span<const uint8_t> bytes) {
  detail::MemoryBytes src(bytes);
  return read_safetensors(src, "nx::io::decode_safetensors");
}

void save_safetensors(const std::filesystem::path& path, const Tree& tensors,
                      const Metadata& metadata) {
  const std::string where = detail::with_path("nx::io::save_safetensors", path);
  detail::named_leaves(tensors, where);  // fail before creating the file
  detail::FileWriter w(path, where);
  write_safetensors(w, tensors, metadata, where);
  w.commit();
}

Safetensors load_safetensors(const std::filesystem::path& path) {
  const std::string where = detail::with_path("nx::io::load_safetensors", path);
  detail::FileBytes src(path, where);
  return read_safetensors(src, where);
}

}  // namespace nx::io
