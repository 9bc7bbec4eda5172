// Byte sources and sinks shared by the NPY, NPZ and safetensors code.
//
// Readers never trust a size they read: every read is checked against the bytes that really
// exist (the memory span or the file's length), so a lying header ends in nx::Error before any
// allocation larger than the input.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "nx/error.hpp"

namespace nx::io::detail {

/// Throws nx::Error("<where>: <message>").
[[noreturn]] inline void fail(const std::string& where, const std::string& message) {
  throw Error(where + ": " + message);
}

/// Bytes that can be read at any offset: a memory span or a file.
class RandomAccess {
 public:
  virtual ~RandomAccess() = default;
  /// Total number of bytes.
  virtual uint64_t size() const = 0;
  /// Copies n bytes at `offset`; throws nx::Error naming `where` if they do not all exist.
  void read_at(uint64_t offset, void* dst, uint64_t n, const std::string& where) const {
    if (offset > size() || n > size() - offset) {
      fail(where, "truncated data: needs bytes [" + std::to_string(offset) + ", " +
                      std::to_string(offset + n) + ") but has only " + std::to_string(size()));
    }
    if (n) copy(offset, dst, n, where);
  }

 protected:
  virtual void copy(uint64_t offset, void* dst, uint64_t n, const std::string& where) const = 0;
};

/// A span of memory.
class MemoryBytes final : public RandomAccess {
 public:
  explicit MemoryBytes(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  uint64_t size() const override { return bytes_.size(); }

 private:
  void copy(uint64_t offset, void* dst, uint64_t n, const std::string&) const override {
    std::memcpy(dst, bytes_.data() + offset, n);
  }
  std::span<const uint8_t> bytes_;
};

/// A file opened for reading.
class FileBytes final : public RandomAccess {
 public:
  /// Opens `path`; throws nx::Error naming `where` if it cannot be read.
  FileBytes(const std::filesystem::path& path, const std::string& where);
  uint64_t size() const override { return size_; }

 private:
  void copy(uint64_t offset, void* dst, uint64_t n, const std::string& where) const override;
  mutable std::ifstream in_;
  uint64_t size_ = 0;
};

/// Sequential reads with a known number of bytes left.
class Reader {
 public:
  virtual ~Reader() = default;
  /// Bytes left to read.
  virtual uint64_t remaining() const = 0;
  /// Reads exactly n bytes; throws nx::Error if fewer remain.
  virtual void read(void* dst, uint64_t n) = 0;
};

/// Reads bytes [begin, begin + length) of a RandomAccess in order.
class RangeReader final : public Reader {
 public:
  RangeReader(const RandomAccess& src, uint64_t begin, uint64_t length, std::string where)
      : src_(src), pos_(begin), left_(length), where_(std::move(where)) {}
  uint64_t remaining() const override { return left_; }
  void read(void* dst, uint64_t n) override {
    if (n > left_) {
      fail(where_, "truncated data: needs " + std::to_string(n) + " more bytes, has " +
                       std::to_string(left_));
    }
    src_.read_at(pos_, dst, n, where_);
    pos_ += n;
    left_ -= n;
  }

 private:
  const RandomAccess& src_;
  uint64_t pos_, left_;
  std::string where_;
};

/// Where encoded bytes go.
class Writer {
 public:
  virtual ~Writer() = default;
  /// Appends n bytes.
  virtual void write(const void* src, uint64_t n) = 0;
  /// Bytes written so far.
  virtual uint64_t position() const = 0;
};

/// Appends to a byte vector.
class VectorWriter final : public Writer {
 public:
  explicit VectorWriter(std::vector<uint8_t>& out) : out_(out) {}
  void write(const void* src, uint64_t n) override {
    const auto* p = static_cast<const uint8_t*>(src);
    out_.insert(out_.end(), p, p + n);
  }
  uint64_t position() const override { return out_.size(); }

 private:
  std::vector<uint8_t>& out_;
};

/// Writes a file atomically: to "<path>.tmp" first, renamed over `path` by commit(), so an
/// interrupted save never leaves a half-written checkpoint under the real name.
class FileWriter final : public Writer {
 public:
  FileWriter(const std::filesystem::path& path, std::string where);
  ~FileWriter() override;
  void write(const void* src, uint64_t n) override;
  uint64_t position() const override { return pos_; }
  /// Flushes, closes and renames the temporary file to the final path.
  void commit();

 private:
  std::filesystem::path path_, tmp_;
  std::string where_;
  std::ofstream out_;
  uint64_t pos_ = 0;
  bool committed_ = false;
};

/// Little-endian integer encoding and decoding (the formats here are all little-endian).
template <class T>
T load_le(const uint8_t* p) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<T>(p[i]) << (8 * i));
  return v;
}
template <class T>
void store_le(std::vector<uint8_t>& out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

/// `op("path")`, the prefix of error messages from functions that take a path.
std::string with_path(const char* op, const std::filesystem::path& path);

}  // namespace nx::io::detail
