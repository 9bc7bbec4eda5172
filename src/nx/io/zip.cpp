// Zip reading and writing for .npz (see zip.hpp).
#include "zip.hpp"

#include <zlib.h>

#include <algorithm>

namespace nx::io::detail {

namespace {

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50;
constexpr uint32_t kEnd64Sig = 0x06064b50, kLocator64Sig = 0x07064b50;
constexpr size_t kLocalLen = 30, kCentralLen = 46, kEndLen = 22, kEnd64Len = 56, kLocator64Len = 20;
constexpr uint64_t kMax32 = 0xFFFFFFFFu;
constexpr uint16_t kZip64Extra = 0x0001;
// Deflate cannot expand data by more than about 1032:1 (one 258-byte match per ~2 bits).
constexpr uint64_t kMaxDeflateRatio = 1032;

uint32_t crc_update(uint32_t crc, const uint8_t* p, uint64_t n) {
  return static_cast<uint32_t>(crc32_z(crc, p, static_cast<size_t>(n)));
}

std::string hex32(uint32_t v) {
  static const char* digits = "0123456789abcdef";
  std::string s = "0x";
  for (int i = 7; i >= 0; --i) s += digits[(v >> (4 * i)) & 0xF];
  return s;
}

// Parses the zip64 extra field of a central header, replacing the 32-bit fields that are
// 0xFFFFFFFF (in APPNOTE order: uncompressed size, compressed size, header offset).
void apply_zip64_extra(const uint8_t* extra, size_t len, ZipEntry& e, const std::string& where) {
  size_t i = 0;
  while (i + 4 <= len) {
    uint16_t id = load_le<uint16_t>(extra + i), size = load_le<uint16_t>(extra + i + 2);
    if (i + 4 + size > len)
      fail(where, "a zip extra field of \"" + e.name + "\" overruns its header");
    if (id == kZip64Extra) {
      const uint8_t* p = extra + i + 4;
      size_t left = size;
      auto take = [&](uint64_t& field) {
        if (field != kMax32) return;
        if (left < 8) fail(where, "the zip64 field of \"" + e.name + "\" is too short");
        field = load_le<uint64_t>(p);
        p += 8;
        left -= 8;
      };
      take(e.usize);
      take(e.csize);
      take(e.header_offset);
    }
    i += 4 + size;
  }
}

class StoredReader final : public ZipEntryReader {
 public:
  StoredReader(const RandomAccess& src, const ZipEntry& e, std::string where)
      : range_(src, e.data_offset, e.usize, where), entry_(e), where_(std::move(where)) {}
  uint64_t remaining() const override { return range_.remaining(); }
  void read(void* dst, uint64_t n) override {
    range_.read(dst, n);
    crc_ = crc_update(crc_, static_cast<const uint8_t*>(dst), n);
  }
  void finish() override {
    if (range_.remaining() != 0) fail(where_, "\"" + entry_.name + "\" was not read to its end");
    if (crc_ != entry_.crc) {
      fail(where_, "CRC-32 mismatch in \"" + entry_.name + "\": the directory says " +
                       hex32(entry_.crc) + ", the data gives " + hex32(crc_));
    }
  }

 private:
  RangeReader range_;
  const ZipEntry& entry_;
  std::string where_;
  uint32_t crc_ = 0;
};

class InflateReader final : public ZipEntryReader {
 public:
  InflateReader(const RandomAccess& src, const ZipEntry& e, std::string where)
      : src_(src), entry_(e), where_(std::move(where)), in_left_(e.csize), out_left_(e.usize) {
    if (inflateInit2(&z_, -MAX_WBITS) != Z_OK) fail(where_, "cannot initialise zlib");
  }
  ~InflateReader() override { inflateEnd(&z_); }
  uint64_t remaining() const override { return out_left_; }

  void read(void* dst, uint64_t n) override {
    if (n > out_left_) {
      fail(where_, "\"" + entry_.name + "\" is shorter than its contents need (" +
                       std::to_string(out_left_) + " bytes left, " + std::to_string(n) +
                       " wanted)");
    }
    auto* out = static_cast<uint8_t*>(dst);
    uint64_t want = n;
    while (want) {
      uInt chunk = static_cast<uInt>(std::min<uint64_t>(want, 1u << 30));
      z_.next_out = out;
      z_.avail_out = chunk;
      while (z_.avail_out) {
        if (ended_)
          fail(where_,
               "the deflate stream of \"" + entry_.name + "\" ends before its declared size");
        step();
      }
      crc_ = crc_update(crc_, out, chunk);
      out += chunk;
      want -= chunk;
    }
    out_left_ -= n;
  }

  void finish() override {
    if (out_left_ != 0) fail(where_, "\"" + entry_.name + "\" was not read to its end");
    // The stream must end here: any further output means the declared size lied.
    uint8_t extra = 0;
    while (!ended_) {
      z_.next_out = &extra;
      z_.avail_out = 1;
      step();
      if (z_.avail_out == 0)
        fail(where_,
             "the deflate stream of \"" + entry_.name + "\" is longer than its declared size");
    }
    if (crc_ != entry_.crc) {
      fail(where_, "CRC-32 mismatch in \"" + entry_.name + "\": the directory says " +
                       hex32(entry_.crc) + ", the data gives " + hex32(crc_));
    }
  }

 private:
  // One call to inflate, refilling the input window first when it is empty.
  void step() {
    if (z_.avail_in == 0 && in_left_ > 0) {
      uint64_t k = std::min<uint64_t>(in_left_, sizeof(buf_));
      src_.read_at(entry_.data_offset + (entry_.csize - in_left_), buf_, k, where_);
      in_left_ -= k;
      z_.next_in = buf_;
      z_.avail_in = static_cast<uInt>(k);
    }
    uInt before = z_.avail_out;
    int rc = inflate(&z_, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) {
      ended_ = true;
    } else if (rc == Z_BUF_ERROR ||
               (rc == Z_OK && z_.avail_out == before && z_.avail_in == 0 && in_left_ == 0)) {
      fail(where_, "the deflate stream of \"" + entry_.name + "\" is truncated");
    } else if (rc != Z_OK) {
      fail(where_,
           "corrupt deflate data in \"" + entry_.name + "\": " + (z_.msg ? z_.msg : "zlib error"));
    }
  }

  const RandomAccess& src_;
  const ZipEntry& entry_;
  std::string where_;
  z_stream z_{};
  uint8_t buf_[1 << 16];
  uint64_t in_left_, out_left_;
  uint32_t crc_ = 0;
  bool ended_ = false;
};

void put16(std::vector<uint8_t>& b, uint64_t v) {
  store_le<uint16_t>(b, static_cast<uint16_t>(v));
}
void put32(std::vector<uint8_t>& b, uint64_t v) {
  store_le<uint32_t>(b, static_cast<uint32_t>(v));
}
void put64(std::vector<uint8_t>& b, uint64_t v) {
  store_le<uint64_t>(b, v);
}

bool is_ascii(const std::string& s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

}  // namespace

std::vector<ZipEntry> read_zip_directory(const RandomAccess& src, const std::string& where) {
  const uint64_t size = src.size();
  if (size < kEndLen) fail(where, "not a zip archive (too short for an end record)");
  // The end record sits in the last 22 + 65535 bytes (its comment is at most 65535 bytes).
  uint64_t tail_len = std::min<uint64_t>(size, kEndLen + 0xFFFF);
  std::vector<uint8_t> tail(tail_len);
  src.read_at(size - tail_len, tail.data(), tail_len, where);
  int64_t end_pos = -1;
  for (int64_t i = static_cast<int64_t>(tail_len - kEndLen); i >= 0; --i) {
    const uint8_t* p = tail.data() + i;
    if (load_le<uint32_t>(p) == kEndSig && i + kEndLen + load_le<uint16_t>(p + 20) == tail_len) {
      end_pos = i;
      break;
    }
  }
  if (end_pos < 0) fail(where, "not a zip archive (no end of central directory record)");
  const uint8_t* end = tail.data() + end_pos;
  const uint64_t end_offset = size - tail_len + static_cast<uint64_t>(end_pos);
  if (load_le<uint16_t>(end + 4) != 0 || load_le<uint16_t>(end + 6) != 0 ||
      load_le<uint16_t>(end + 8) != load_le<uint16_t>(end + 10)) {
    fail(where, "multi-disk zip archives are not supported");
  }
  uint64_t count = load_le<uint16_t>(end + 10);
  uint64_t cd_size = load_le<uint32_t>(end + 12), cd_offset = load_le<uint32_t>(end + 16);
  uint64_t records_start = end_offset;  // the directory must end before the end records

  if (end_offset >= kLocator64Len) {
    uint8_t loc[kLocator64Len];
    src.read_at(end_offset - kLocator64Len, loc, kLocator64Len, where);
    if (load_le<uint32_t>(loc) == kLocator64Sig) {
      uint64_t rec_offset = load_le<uint64_t>(loc + 8);
      if (load_le<uint32_t>(loc + 4) != 0 || load_le<uint32_t>(loc + 16) > 1) {
        fail(where, "multi-disk zip archives are not supported");
      }
      if (rec_offset > end_offset - kLocator64Len ||
          end_offset - kLocator64Len - rec_offset < kEnd64Len) {
        fail(where,
             "the zip64 end record offset " + std::to_string(rec_offset) + " is out of range");
      }
      uint8_t rec[kEnd64Len];
      src.read_at(rec_offset, rec, kEnd64Len, where);
      if (load_le<uint32_t>(rec) != kEnd64Sig) fail(where, "bad zip64 end record signature");
      if (load_le<uint32_t>(rec + 16) != 0 || load_le<uint32_t>(rec + 20) != 0 ||
          load_le<uint64_t>(rec + 24) != load_le<uint64_t>(rec + 32)) {
        fail(where, "multi-disk zip archives are not supported");
      }
      count = load_le<uint64_t>(rec + 32);
      cd_size = load_le<uint64_t>(rec + 40);
      cd_offset = load_le<uint64_t>(rec + 48);
      records_start = rec_offset;
    }
  }
  if (cd_offset > records_start || cd_size > records_start - cd_offset) {
    fail(where, "the central directory [" + std::to_string(cd_offset) + ", +" +
                    std::to_string(cd_size) + ") does not lie before the end record at " +
                    std::to_string(records_start));
  }
  if (count > cd_size / kCentralLen) {
    fail(where, "the archive claims " + std::to_string(count) +
                    " members but its directory holds at most " +
                    std::to_string(cd_size / kCentralLen));
  }
  std::vector<uint8_t> cd(cd_size);
  src.read_at(cd_offset, cd.data(), cd_size, where);

  std::vector<ZipEntry> entries;
  entries.reserve(count);
  size_t pos = 0;
  for (uint64_t k = 0; k < count; ++k) {
    if (cd_size - pos < kCentralLen) fail(where, "the central directory is truncated");
    const uint8_t* h = cd.data() + pos;
    if (load_le<uint32_t>(h) != kCentralSig) fail(where, "bad central directory header signature");
    uint16_t flags = load_le<uint16_t>(h + 8);
    ZipEntry e;
    e.method = load_le<uint16_t>(h + 10);
    e.crc = load_le<uint32_t>(h + 16);
    e.csize = load_le<uint32_t>(h + 20);
    e.usize = load_le<uint32_t>(h + 24);
    size_t name_len = load_le<uint16_t>(h + 28), extra_len = load_le<uint16_t>(h + 30);
    size_t comment_len = load_le<uint16_t>(h + 32);
    e.header_offset = load_le<uint32_t>(h + 42);
    if (cd_size - pos - kCentralLen < name_len + extra_len + comment_len) {
      fail(where, "a central directory header overruns the directory");
    }
    e.name.assign(reinterpret_cast<const char*>(h + kCentralLen), name_len);
    apply_zip64_extra(h + kCentralLen + name_len, extra_len, e, where);
    pos += kCentralLen + name_len + extra_len + comment_len;

    if (flags & 1u) fail(where, "\"" + e.name + "\" is encrypted");
    if (e.method != 0 && e.method != 8) {
      fail(where, "\"" + e.name + "\" uses compression method " + std::to_string(e.method) +
                      " (only stored and deflate are supported)");
    }
    if (e.method == 0 && e.csize != e.usize) {
      fail(where, "\"" + e.name + "\" is stored but its sizes differ (" + std::to_string(e.csize) +
                      " vs " + std::to_string(e.usize) + ")");
    }
    if (e.method == 8 && e.usize / kMaxDeflateRatio > e.csize) {
      fail(where, "\"" + e.name + "\" claims " + std::to_string(e.usize) + " bytes from " +
                      std::to_string(e.csize) + " deflated bytes, beyond deflate's maximum ratio");
    }
    if (e.header_offset > cd_offset || cd_offset - e.header_offset < kLocalLen) {
      fail(where, "the local header of \"" + e.name + "\" is out of range");
    }
    uint8_t local[kLocalLen];
    src.read_at(e.header_offset, local, kLocalLen, where);
    if (load_le<uint32_t>(local) != kLocalSig)
      fail(where, "bad local header signature for \"" + e.name + "\"");
    e.data_offset =
        e.header_offset + kLocalLen + load_le<uint16_t>(local + 26) + load_le<uint16_t>(local + 28);
    if (e.data_offset > cd_offset || e.csize > cd_offset - e.data_offset) {
      fail(where, "the data of \"" + e.name + "\" (" + std::to_string(e.csize) +
                      " bytes) runs past the central directory");
    }
    entries.push_back(std::move(e));
  }
  // Members must not share bytes (overlapping members are the trick of zip bombs).
  std::vector<const ZipEntry*> by_offset;
  for (const ZipEntry& e : entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const ZipEntry* a, const ZipEntry* b) {
    return a->header_offset < b->header_offset;
  });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    if (by_offset[i - 1]->data_offset + by_offset[i - 1]->csize > by_offset[i]->header_offset) {
      fail(where, "the members \"" + by_offset[i - 1]->name + "\" and \"" + by_offset[i]->name +
                      "\" overlap");
    }
  }
  return entries;
}

std::unique_ptr<ZipEntryReader> open_zip_entry(const RandomAccess& src, const ZipEntry& entry,
                                               const std::string& where) {
  if (entry.method == 0) return std::make_unique<StoredReader>(src, entry, where);
  return std::make_unique<InflateReader>(src, entry, where);
}

void ZipWriter::add(const std::string& name, std::span<const std::span<const uint8_t>> pieces,
                    bool compress) {
  if (name.size() > 0xFFFF)
    fail(where_, "the member name \"" + name.substr(0, 40) + "...\" is too long for zip");
  ZipEntry e;
  e.name = name;
  e.method = compress ? 8 : 0;
  e.header_offset = out_.position();
  for (auto p : pieces) {
    e.crc = crc_update(e.crc, p.data(), p.size());
    e.usize += p.size();
  }
  std::vector<uint8_t> packed;
  if (compress) {
    // Python's zipfile settings (zlib default level, raw deflate, memLevel 8).
    z_stream z{};
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
      fail(where_, "cannot initialise zlib");
    }
    uint8_t buf[1 << 16];
    auto pump = [&](const uint8_t* in, uint64_t n, bool last) {
      do {
        uInt chunk = static_cast<uInt>(std::min<uint64_t>(n, 1u << 30));
        z.next_in = const_cast<uint8_t*>(in);
        z.avail_in = chunk;
        in += chunk;
        n -= chunk;
        int mode = last && n == 0 ? Z_FINISH : Z_NO_FLUSH;
        int rc;
        do {
          z.next_out = buf;
          z.avail_out = sizeof(buf);
          rc = deflate(&z, mode);
          packed.insert(packed.end(), buf, buf + (sizeof(buf) - z.avail_out));
        } while (z.avail_out == 0 || (mode == Z_FINISH && rc != Z_STREAM_END));
      } while (n > 0);
    };
    for (size_t i = 0; i < pieces.size(); ++i)
      pump(pieces[i].data(), pieces[i].size(), i + 1 == pieces.size());
    if (pieces.empty()) pump(nullptr, 0, true);
    deflateEnd(&z);
    e.csize = packed.size();
  } else {
    e.csize = e.usize;
  }
  bool zip64 = e.usize >= limits_.size || e.csize >= limits_.size;
  std::vector<uint8_t> h;
  put32(h, kLocalSig);
  put16(h, zip64 ? 45 : 20);             // version needed
  put16(h, is_ascii(name) ? 0 : 0x800);  // bit 11: UTF-8 name
  put16(h, e.method);
  put16(h, 0);     // time 00:00:00
  put16(h, 0x21);  // date 1980-01-01: reproducible bytes
  put32(h, e.crc);
  put32(h, zip64 ? kMax32 : e.csize);
  put32(h, zip64 ? kMax32 : e.usize);
  put16(h, name.size());
  put16(h, zip64 ? 20 : 0);
  h.insert(h.end(), name.begin(), name.end());
  if (zip64) {
    put16(h, kZip64Extra);
    put16(h, 16);
    put64(h, e.usize);
    put64(h, e.csize);
  }
  out_.write(h.data(), h.size());
  e.data_offset = out_.position();
  if (compress) {
    out_.write(packed.data(), packed.size());
  } else {
    for (auto p : pieces) out_.write(p.data(), p.size());
  }
  entries_.push_back(std::move(e));
}

void ZipWriter::finish() {
  const uint64_t cd_offset = out_.position();
  std::vector<uint8_t> cd;
  bool any64 = entries_.size() >= limits_.count;
  for (const ZipEntry& e : entries_) {
    bool u64 = e.usize >= limits_.size, c64 = e.csize >= limits_.size;
    bool o64 = e.header_offset >= limits_.size;
    size_t extra = 8 * (u64 + c64 + o64);
    any64 |= extra > 0;
    put32(cd, kCentralSig);
    put16(cd, extra ? 45 : 20);  // version made by (MS-DOS, 2.0 / 4.5)
    put16(cd, extra ? 45 : 20);  // version needed
    put16(cd, is_ascii(e.name) ? 0 : 0x800);
    put16(cd, e.method);
    put16(cd, 0);
    put16(cd, 0x21);
    put32(cd, e.crc);
    put32(cd, c64 ? kMax32 : e.csize);
    put32(cd, u64 ? kMax32 : e.usize);
    put16(cd, e.name.size());
    put16(cd, extra ? extra + 4 : 0);
    put16(cd, 0);  // comment
    put16(cd, 0);  // disk
    put16(cd, 0);  // internal attributes
    put32(cd, 0);  // external attributes
    put32(cd, o64 ? kMax32 : e.header_offset);
    cd.insert(cd.end(), e.name.begin(), e.name.end());
    if (extra) {
      put16(cd, kZip64Extra);
      put16(cd, extra);
      if (u64) put64(cd, e.usize);
      if (c64) put64(cd, e.csize);
      if (o64) put64(cd, e.header_offset);
    }
  }
  out_.write(cd.data(), cd.size());
  const uint64_t cd_size = cd.size();
  any64 |= cd_offset >= limits_.size || cd_size >= limits_.size;
  std::vector<uint8_t> tail;
  if (any64) {
    const uint64_t rec_offset = out_.position();
    put32(tail, kEnd64Sig);
    put64(tail, kEnd64Len - 12);  // size of the rest of this record
    put16(tail, 45);
    put16(tail, 45);
    put32(tail, 0);
    put32(tail, 0);
    put64(tail, entries_.size());
    put64(tail, entries_.size());
    put64(tail, cd_size);
    put64(tail, cd_offset);
    put32(tail, kLocator64Sig);
    put32(tail, 0);
    put64(tail, rec_offset);
    put32(tail, 1);
  }
  put32(tail, kEndSig);
  put16(tail, 0);
  put16(tail, 0);
  const uint64_t count = entries_.size() >= limits_.count ? 0xFFFF : entries_.size();
  put16(tail, count);
  put16(tail, count);
  put32(tail, cd_size >= limits_.size ? kMax32 : cd_size);
  put32(tail, cd_offset >= limits_.size ? kMax32 : cd_offset);
  put16(tail, 0);
  out_.write(tail.data(), tail.size());
}

}  // namespace nx::io::detail
