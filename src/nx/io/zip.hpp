// A small zip reader and writer: what .npz files need (PKWARE APPNOTE 6.3: stored and deflated
// members, zip64 sizes and offsets, one disk, no encryption).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "byte_io.hpp"

namespace nx::io::detail {

/// One member, as the central directory describes it.
struct ZipEntry {
  std::string name;
  uint16_t method = 0;         ///< 0 stored, 8 deflated
  uint32_t crc = 0;            ///< CRC-32 of the uncompressed bytes
  uint64_t csize = 0;          ///< compressed size
  uint64_t usize = 0;          ///< uncompressed size
  uint64_t header_offset = 0;  ///< offset of the local header
  uint64_t data_offset = 0;    ///< offset of the member's data
};

/// Reads and checks the central directory: every member must be stored or deflated, lie inside
/// the archive before the directory, not overlap another, and (if deflated) claim no more than
/// deflate's maximum ratio. Throws nx::Error naming `where` otherwise.
std::vector<ZipEntry> read_zip_directory(const RandomAccess& src, const std::string& where);

/// Sequential reader of one member's uncompressed bytes.
class ZipEntryReader : public Reader {
 public:
  /// After all bytes are read: checks the CRC-32 and, for deflate, that the stream ends there.
  virtual void finish() = 0;
};

/// Opens a member of `src` for reading.
std::unique_ptr<ZipEntryReader> open_zip_entry(const RandomAccess& src, const ZipEntry& entry,
                                               const std::string& where);

/// Sizes, offsets and member counts from which ZipWriter uses zip64 structures. Only tests
/// lower them (as Python's zipfile.ZIP64_LIMIT can be), to exercise zip64 on small archives.
struct Zip64Limits {
  uint64_t size = 0xFFFFFFFFu;  ///< sizes and offsets at or past this go in zip64 fields
  uint64_t count = 0xFFFFu;     ///< member counts at or past this need the zip64 end record
};

/// Writes members one after another, then the central directory on finish().
class ZipWriter {
 public:
  ZipWriter(Writer& out, std::string where, Zip64Limits limits = {})
      : out_(out), where_(std::move(where)), limits_(limits) {}
  /// Adds a member whose bytes are the concatenation of `pieces`, stored or deflated.
  void add(const std::string& name, std::span<const std::span<const uint8_t>> pieces,
           bool compress);
  /// Writes the central directory and the end records.
  void finish();

 private:
  Writer& out_;
  std::string where_;
  Zip64Limits limits_;
  std::vector<ZipEntry> entries_;
};

}  // namespace nx::io::detail
