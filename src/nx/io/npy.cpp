// NPY encoding and decoding, and the public .npy functions.
#include "npy.hpp"

#include <algorithm>
#include <bit>
#include <string_view>

#include "../core/tensor_impl.hpp"
#include "array_layout.hpp"
#include "nx/io.hpp"

namespace nx::io::detail {

static_assert(std::endian::native == std::endian::little,
              "nx::io assumes a little-endian host (as every file format here is)");

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
// numpy.lib.format: headers are padded so that data starts on a 64-byte boundary, and leave
// room for the growth axis to reach 21 digits.
constexpr size_t kAlign = 64;
constexpr size_t kGrowthAxisMaxDigits = 21;
// numpy refuses headers over 10000 bytes by default; we accept far larger ones (wide shapes)
// but still bound what a corrupt length can make us read.
constexpr uint64_t kMaxHeader = uint64_t{1} << 24;

struct NpyHeader {
  DType dtype = DType::F32;
  bool big_endian = false;
  bool fortran = false;
  Shape shape;
};

const char* descr_of(DType t) {
  switch (t) {
    case DType::Pred:
      return "|b1";
    case DType::U8:
      return "|u1";
    case DType::U16:
      return "<u2";
    case DType::U32:
      return "<u4";
    case DType::U64:
      return "<u8";
    case DType::S8:
      return "|i1";
    case DType::S16:
      return "<i2";
    case DType::S32:
      return "<i4";
    case DType::S64:
      return "<i8";
    case DType::F16:
      return "<f2";
    case DType::F32:
      return "<f4";
    case DType::F64:
      return "<f8";
    case DType::BF16:
      return nullptr;
  }
  return nullptr;
}

// Parses a descr such as '<f4'; false when it names no nx dtype.
bool parse_descr(std::string_view s, DType& dtype, bool& big_endian) {
  if (s.size() != 3) return false;
  char order = s[0], kind = s[1], size = s[2];
  if (order != '<' && order != '>' && order != '|' && order != '=') return false;
  if (order == '|' && size != '1') return false;  // byte order matters for wider types
  big_endian = order == '>' && size != '1';
  switch (kind) {
    case 'b':
      dtype = DType::Pred;
      return size == '1';
    case 'u':
    case 'i': {
      bool u = kind == 'u';
      switch (size) {
        case '1':
          dtype = u ? DType::U8 : DType::S8;
          return true;
        case '2':
          dtype = u ? DType::U16 : DType::S16;
          return true;
        case '4':
          dtype = u ? DType::U32 : DType::S32;
          return true;
        case '8':
          dtype = u ? DType::U64 : DType::S64;
          return true;
        default:
          return false;
      }
    }
    case 'f':
      switch (size) {
        case '2':
          dtype = DType::F16;
          return true;
        case '4':
          dtype = DType::F32;
          return true;
        case '8':
          dtype = DType::F64;
          return true;
        default:
          return false;
      }
    default:
      return false;
  }
}

// A strict parser for the one Python literal NPY headers hold: a dict with the keys 'descr'
// (a string), 'fortran_order' (True or False) and 'shape' (a tuple of non-negative integers).
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& where) : s_(text), where_(where) {}

  NpyHeader parse() {
    NpyHeader h;
    bool seen_descr = false, seen_fortran = false, seen_shape = false;
    std::string descr;
    skip_ws();
    expect('{');
    skip_ws();
    while (peek() != '}') {
      std::string key = string_literal();
      skip_ws();
      expect(':');
      skip_ws();
      if (key == "descr") {
        if (seen_descr) error("the key 'descr' repeats");
        seen_descr = true;
        if (peek() == '[') error("structured arrays (a list descr) have no nx dtype");
        descr = string_literal();
      } else if (key == "fortran_order") {
        if (seen_fortran) error("the key 'fortran_order' repeats");
        seen_fortran = true;
        h.fortran = boolean();
      } else if (key == "shape") {
        if (seen_shape) error("the key 'shape' repeats");
        seen_shape = true;
        h.shape = tuple();
      } else {
        error("unexpected key '" + key + "' (an NPY header has 'descr', 'fortran_order', 'shape')");
      }
      skip_ws();
      if (peek() == ',') {
        ++i_;
        skip_ws();
      } else if (peek() != '}') {
        error("expected ',' or '}' at byte " + std::to_string(i_));
      }
    }
    ++i_;
    skip_ws();
    if (i_ != s_.size())
      error("unexpected text after the header dict at byte " + std::to_string(i_));
    if (!seen_descr || !seen_fortran || !seen_shape) {
      error("the header must have 'descr', 'fortran_order' and 'shape'");
    }
    if (!parse_descr(descr, h.dtype, h.big_endian)) {
      error("unsupported dtype descr '" + descr +
            "' (complex, string, object, datetime and void arrays have no nx dtype)");
    }
    return h;
  }

 private:
  [[noreturn]] void error(const std::string& msg) const { fail(where_, "bad NPY header: " + msg); }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void expect(char c) {
    if (peek() != c) error(std::string("expected '") + c + "' at byte " + std::to_string(i_));
    ++i_;
  }
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r'))
      ++i_;
  }
  std::string string_literal() {
    char q = peek();
    if (q != '\'' && q != '"') error("expected a quoted string at byte " + std::to_string(i_));
    size_t start = ++i_;
    while (i_ < s_.size() && s_[i_] != q) {
      if (s_[i_] == '\\' || s_[i_] == '\n') error("unsupported character in a string literal");
      ++i_;
    }
    if (i_ >= s_.size()) error("unterminated string literal");
    return std::string(s_.substr(start, i_++ - start));
  }
  bool boolean() {
    if (s_.substr(i_, 4) == "True") return i_ += 4, true;
    if (s_.substr(i_, 5) == "False") return i_ += 5, false;
    error("'fortran_order' must be True or False");
  }
  Shape tuple() {
    expect('(');
    Shape shape;
    skip_ws();
    bool trailing_comma = false;
    while (peek() != ')') {
      shape.push_back(integer());
      skip_ws();
      trailing_comma = false;
      if (peek() == ',') {
        ++i_;
        trailing_comma = true;
        skip_ws();
      } else if (peek() != ')') {
        error("expected ',' or ')' in the shape at byte " + std::to_string(i_));
      }
    }
    ++i_;
    // Python needs the comma in a 1-tuple: "(3)" is the integer 3, not a shape.
    if (shape.size() == 1 && !trailing_comma) error("the shape (n) must be written (n,)");
    return shape;
  }
  int64_t integer() {
    if (peek() < '0' || peek() > '9')
      error("expected a non-negative integer at byte " + std::to_string(i_));
    uint64_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      uint64_t d = static_cast<uint64_t>(peek() - '0');
      if (v > (static_cast<uint64_t>(INT64_MAX) - d) / 10)
        error("a dimension does not fit in 64 bits");
      v = v * 10 + d;
      ++i_;
    }
    if (peek() == 'L') ++i_;  // headers written by Python 2 mark longs
    return static_cast<int64_t>(v);
  }

  std::string_view s_;
  const std::string& where_;
  size_t i_ = 0;
};

std::string shape_tuple(const Shape& s) {
  if (s.empty()) return "()";
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(s[i]);
  }
  return out + (s.size() == 1 ? ",)" : ")");
}

}  // namespace

void check_savable(const Tensor& t, const std::string& where, const std::string& name) {
  std::string what = name.empty() ? "the tensor" : "the tensor \"" + name + "\"";
  if (!t.defined()) fail(where, what + " is an empty handle");
  if (t.is_template())
    fail(where, what + " (" + type_string(t.type()) + ") is a template and has no data");
}

std::vector<uint8_t> npy_header(const Tensor& t, const std::string& where) {
  const char* descr = descr_of(t.dtype());
  if (!descr) {
    fail(where,
         "bf16 has no NumPy dtype; convert with nx::as_type(t, nx::f32) or save as "
         "safetensors, which has BF16");
  }
  std::string dict = std::string("{'descr': '") + descr +
                     "', 'fortran_order': False, 'shape': " + shape_tuple(t.shape()) + ", }";
  if (!t.shape().empty())
    dict.append(kGrowthAxisMaxDigits - std::to_string(t.shape()[0]).size(), ' ');
  // numpy.lib.format._wrap_header: pad so that magic + length + header + '\n' is a multiple of
  // 64; note that an already aligned header still gets 64 spaces.
  // Version 1.0 unless its u16 length cannot hold the padded header.
  size_t hlen = dict.size() + 1;
  size_t pad = kAlign - (kMagicLen + 2 + 2 + hlen) % kAlign;
  bool v1 = hlen + pad <= 65535;
  if (!v1) pad = kAlign - (kMagicLen + 2 + 4 + hlen) % kAlign;
  std::vector<uint8_t> out(kMagic, kMagic + kMagicLen);
  out.push_back(v1 ? 1 : 2);
  out.push_back(0);
  if (v1)
    store_le<uint16_t>(out, static_cast<uint16_t>(hlen + pad));
  else
    store_le<uint32_t>(out, static_cast<uint32_t>(hlen + pad));
  out.insert(out.end(), dict.begin(), dict.end());
  out.insert(out.end(), pad, ' ');
  out.push_back('\n');
  return out;
}

void write_npy(Writer& w, const Tensor& t, const std::string& where) {
  std::vector<uint8_t> header = npy_header(t, where);
  w.write(header.data(), header.size());
  w.write(t.raw_data(), static_cast<uint64_t>(t.byte_size()));
}

Tensor read_npy(Reader& r, const std::string& where) {
  uint8_t pre[kMagicLen + 2];
  if (r.remaining() < sizeof(pre)) fail(where, "truncated data: too short for an NPY header");
  r.read(pre, sizeof(pre));
  if (std::memcmp(pre, kMagic, kMagicLen) != 0) fail(where, "not an NPY file (bad magic)");
  uint8_t major = pre[6], minor = pre[7];
  if (major < 1 || major > 3 || minor != 0) {
    fail(where, "unsupported NPY version " + std::to_string(major) + "." + std::to_string(minor));
  }
  uint8_t len_bytes[4] = {0, 0, 0, 0};
  size_t len_size = major == 1 ? 2 : 4;
  if (r.remaining() < len_size) fail(where, "truncated data: missing the NPY header length");
  r.read(len_bytes, len_size);
  uint64_t hlen = load_le<uint32_t>(len_bytes);
  if (hlen > r.remaining()) {
    fail(where, "the NPY header claims " + std::to_string(hlen) + " bytes but only " +
                    std::to_string(r.remaining()) + " follow");
  }
  if (hlen > kMaxHeader)
    fail(where, "the NPY header is " + std::to_string(hlen) + " bytes, over the 16 MiB limit");
  std::string text(hlen, '\0');
  r.read(text.data(), hlen);
  NpyHeader h = HeaderParser(text, where).parse();

  int64_t count = checked_num_elements(h.shape, where);
  uint64_t bytes = checked_byte_size(count, h.dtype, where);
  if (bytes != r.remaining()) {
    fail(where, "the header describes " + type_string({h.shape, h.dtype}) + " (" +
                    std::to_string(bytes) + " bytes) but " + std::to_string(r.remaining()) +
                    " bytes of data follow");
  }
  // Fortran order is row-major order of the reversed shape: read that, then reverse the axes.
  Shape stored = h.shape;
  if (h.fortran) std::reverse(stored.begin(), stored.end());
  Tensor t = nx::detail::make_tensor(TensorType{stored, h.dtype});
  r.read(nx::detail::mutable_data(t), bytes);
  fix_elements(t, h.big_endian);
  if (h.fortran && h.shape.size() > 1) t = reverse_axes(t);
  return t;
}

}  // namespace nx::io::detail

namespace nx::io {

Bytes encode_npy(const Tensor& t) {
  const std::string where = "nx::io::encode_npy";
  detail::check_savable(t, where, "");
  Bytes out;
  detail::VectorWriter w(out);
  detail::write_npy(w, t, where);
  return out;
}

Tensor decode_npy(std::span<const uint8_t> bytes) {
  detail::MemoryBytes src(bytes);
  detail::RangeReader r(src, 0, src.size(), "nx::io::decode_npy");
  return detail::read_npy(r, "nx::io::decode_npy");
}

void save_npy(const std::filesystem::path& path, const Tensor& t) {
  const std::string where = detail::with_path("nx::io::save_npy", path);
  detail::check_savable(t, where, "");
  detail::FileWriter w(path, where);
  detail::write_npy(w, t, where);
  w.commit();
}

Tensor load_npy(const std::filesystem::path& path) {
  const std::string where = detail::with_path("nx::io::load_npy", path);
  detail::FileBytes src(path, where);
  detail::RangeReader r(src, 0, src.size(), where);
  return detail::read_npy(r, where);
}

}  // namespace nx::io
