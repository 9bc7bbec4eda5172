// IDX files (the MNIST format) and transparent gunzip.
//
// The IDX header is 00 00 <type code> <rank>, then `rank` big-endian u32 dimensions; the data
// follows in row-major order, big-endian. Nothing read from a header is trusted: the data size
// implied by the dimensions is checked against the bytes that exist before anything is
// allocated for it.
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "axon/data/file_bytes.hpp"
#include "axon/data/readers.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"

namespace axon::data {
namespace {

[[noreturn]] void fail(const std::string& where, const std::string& message) {
  throw nx::Error(where + ": " + message);
}

std::string hex_byte(uint8_t b) {
  char buf[4];
  std::snprintf(buf, sizeof buf, "%02x", b);
  return buf;
}

std::vector<uint8_t> read_file(const std::filesystem::path& path, const std::string& where) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail(where, "cannot open \"" + path.string() + "\" for reading");
  std::streamoff size = in.tellg();
  if (size < 0) fail(where, "cannot determine the size of \"" + path.string() + "\"");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size)) {
    fail(where, "cannot read \"" + path.string() + "\"");
  }
  return bytes;
}

bool is_gzip(std::span<const uint8_t> bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

// Inflates one or more concatenated gzip members.
std::vector<uint8_t> gunzip(std::span<const uint8_t> in, const std::string& where) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) fail(where, "cannot initialise zlib");
  struct Guard {
    z_stream* zs;
    ~Guard() { inflateEnd(zs); }
  } guard{&zs};

  std::vector<uint8_t> out;
  // The trailer's ISIZE (length mod 2^32) is a good first guess; deflate cannot expand more than
  // 1032:1, so a lying trailer cannot make us reserve more than the input could produce.
  if (in.size() >= 18) {
    uint64_t isize = uint64_t{in[in.size() - 4]} | uint64_t{in[in.size() - 3]} << 8 |
                     uint64_t{in[in.size() - 2]} << 16 | uint64_t{in[in.size() - 1]} << 24;
    // The slack lets inflate reach the end marker without another (doubling) resize.
    out.reserve(static_cast<size_t>(std::min<uint64_t>(isize, uint64_t{in.size()} * 1032)) +
                (size_t{1} << 16));
  }
  out.resize(std::max<size_t>(out.capacity(), 1 << 16));
  size_t produced = 0;
  size_t consumed = 0;
  while (true) {
    constexpr size_t kChunk = size_t{1} << 30;  // z_stream counts in 32-bit uInt
    size_t in_left = in.size() - consumed;
    zs.next_in = const_cast<Bytef*>(in.data() + consumed);
    zs.avail_in = static_cast<uInt>(std::min(in_left, kChunk));
    if (produced == out.size()) out.resize(out.size() * 2);
    zs.next_out = out.data() + produced;
    zs.avail_out = static_cast<uInt>(std::min(out.size() - produced, kChunk));
    uInt avail_in_before = zs.avail_in, avail_out_before = zs.avail_out;
    int rc = inflate(&zs, Z_NO_FLUSH);
    consumed += avail_in_before - zs.avail_in;
    produced += avail_out_before - zs.avail_out;
    if (rc == Z_STREAM_END) {
      if (consumed == in.size()) break;
      if (!is_gzip(in.subspan(consumed))) {
        fail(where, "unexpected bytes after the end of the gzip stream (offset " +
                        std::to_string(consumed) + ")");
      }
      inflateReset(&zs);  // another gzip member follows, as `cat a.gz b.gz` makes
      continue;
    }
    if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT) {
      fail(where, std::string("corrupt gzip data: ") + (zs.msg ? zs.msg : "invalid stream"));
    }
    if (rc == Z_MEM_ERROR) fail(where, "out of memory while decompressing");
    if (rc == Z_BUF_ERROR && consumed == in.size() && zs.avail_out > 0) {
      fail(where, "truncated gzip data: the stream ends before its end marker");
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) fail(where, "zlib error " + std::to_string(rc));
  }
  out.resize(produced);
  return out;
}

nx::DType idx_dtype(uint8_t code, const std::string& where) {
  switch (code) {
    case 0x08:
      return nx::u8;
    case 0x09:
      return nx::s8;
    case 0x0B:
      return nx::s16;
    case 0x0C:
      return nx::s32;
    case 0x0D:
      return nx::f32;
    case 0x0E:
      return nx::f64;
    default:
      fail(where, "unknown IDX type code 0x" + hex_byte(code) +
                      " (expected 08 u8, 09 s8, 0b s16, 0c s32, 0d f32 or 0e f64)");
  }
}

uint8_t idx_code(nx::DType t) {
  switch (t) {
    case nx::DType::U8:
      return 0x08;
    case nx::DType::S8:
      return 0x09;
    case nx::DType::S16:
      return 0x0B;
    case nx::DType::S32:
      return 0x0C;
    case nx::DType::F32:
      return 0x0D;
    case nx::DType::F64:
      return 0x0E;
    default:
      return 0;
  }
}

// Reverses the bytes of each `width`-byte element (big-endian <-> little-endian).
void swap_elements(uint8_t* data, size_t count, int width) {
  for (size_t i = 0; i < count; ++i, data += width) std::reverse(data, data + width);
}

nx::Tensor decode(std::span<const uint8_t> bytes, const std::string& where) {
  if (bytes.size() < 4) {
    fail(where, "truncated IDX header: the file has " + std::to_string(bytes.size()) +
                    " bytes, a header needs at least 4");
  }
  if (bytes[0] != 0 || bytes[1] != 0) {
    fail(where, "bad IDX magic number " + hex_byte(bytes[0]) + " " + hex_byte(bytes[1]) + " " +
                    hex_byte(bytes[2]) + " " + hex_byte(bytes[3]) +
                    " (expected 00 00 <type> <rank>)");
  }
  nx::DType dtype = idx_dtype(bytes[2], where);
  size_t rank = bytes[3];
  size_t header = 4 + 4 * rank;
  if (bytes.size() < header) {
    fail(where, "truncated IDX header: " + std::to_string(rank) + " dimensions need " +
                    std::to_string(header) + " bytes, the file has " +
                    std::to_string(bytes.size()));
  }
  nx::Shape shape(rank);
  const auto width = static_cast<uint64_t>(nx::byte_size(dtype));
  uint64_t available = bytes.size() - header;
  for (size_t i = 0; i < rank; ++i) {
    const uint8_t* p = bytes.data() + 4 + 4 * i;
    shape[i] = uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
  }
  uint64_t count = 1;
  uint64_t need = width;
  for (int64_t d : shape) {
    if (__builtin_mul_overflow(count, static_cast<uint64_t>(d), &count) ||
        __builtin_mul_overflow(need, static_cast<uint64_t>(d), &need)) {
      fail(where, "IDX shape " + nx::shape_repr(shape) + " of " +
                      std::string(nx::dtype_name(dtype)) +
                      " is too large (its byte size "
                      "overflows 64 bits); the file has " +
                      std::to_string(available) + " data bytes");
    }
  }
  if (available != need) {
    fail(where, std::string(available < need ? "truncated" : "oversized") + " IDX data: shape " +
                    nx::shape_repr(shape) + " of " + std::string(nx::dtype_name(dtype)) +
                    " needs " + std::to_string(need) + " data bytes, the file has " +
                    std::to_string(available));
  }
  const uint8_t* data = bytes.data() + header;
  if (width == 1 || std::endian::native == std::endian::big) {
    return nx::from_data(data, shape, dtype);
  }
  std::vector<uint8_t> swapped(data, data + need);
  swap_elements(swapped.data(), count, static_cast<int>(width));
  return nx::from_data(swapped.data(), shape, dtype);
}

}  // namespace

std::vector<uint8_t> detail::read_file_maybe_gzipped(const std::filesystem::path& path,
                                                     const std::string& where) {
  std::vector<uint8_t> bytes = read_file(path, where);
  return is_gzip(bytes) ? gunzip(bytes, where) : bytes;
}

std::vector<uint8_t> read_maybe_gzipped(const std::filesystem::path& path) {
  return detail::read_file_maybe_gzipped(
      path, "axon::data::read_maybe_gzipped(\"" + path.string() + "\")");
}

nx::Tensor read_idx(const std::filesystem::path& path) {
  std::string where = "axon::data::read_idx(\"" + path.string() + "\")";
  return decode(detail::read_file_maybe_gzipped(path, where), where);
}

nx::Tensor decode_idx(std::span<const uint8_t> bytes) {
  return decode(bytes, "axon::data::decode_idx");
}

std::vector<uint8_t> encode_idx(const nx::Tensor& t) {
  const std::string where = "axon::data::encode_idx";
  if (!t.defined()) fail(where, "expected a tensor, got an empty handle");
  uint8_t code = idx_code(t.dtype());
  if (code == 0) {
    fail(where, "IDX stores u8, s8, s16, s32, f32 and f64, got " + nx::type_string(t.type()));
  }
  if (t.rank() > 255)
    fail(where, "IDX stores at most 255 dimensions, got " + std::to_string(t.rank()));
  for (int64_t d : t.shape()) {
    if (d > std::numeric_limits<uint32_t>::max()) {
      fail(where, "IDX dimensions are u32, got shape " + nx::shape_repr(t.shape()));
    }
  }
  std::vector<uint8_t> out = {0, 0, code, static_cast<uint8_t>(t.rank())};
  for (int64_t d : t.shape()) {
    auto u = static_cast<uint32_t>(d);
    out.insert(out.end(), {static_cast<uint8_t>(u >> 24), static_cast<uint8_t>(u >> 16),
                           static_cast<uint8_t>(u >> 8), static_cast<uint8_t>(u)});
  }
  size_t header = out.size();
  const auto* data = static_cast<const uint8_t*>(t.raw_data());
  out.insert(out.end(), data, data + t.byte_size());
  int width = nx::byte_size(t.dtype());
  if (width > 1 && std::endian::native == std::endian::little) {
    swap_elements(out.data() + header, static_cast<size_t>(t.size()), width);
  }
  return out;
}

void write_idx(const std::filesystem::path& path, const nx::Tensor& t) {
  std::vector<uint8_t> bytes = encode_idx(t);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out || !out.write(reinterpret_cast<const char*>(bytes.data()),
                         static_cast<std::streamsize>(bytes.size()))) {
    fail("axon::data::write_idx(\"" + path.string() + "\")", "cannot write the file");
  }
}

}  // namespace axon::data
