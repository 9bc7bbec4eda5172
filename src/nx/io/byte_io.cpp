// File-backed byte sources and sinks.
#include "byte_io.hpp"

#include <cerrno>
#include <system_error>

namespace nx::io::detail {

namespace {
std::string errno_text() {
  return std::generic_category().message(errno);
}
}  // namespace

std::string with_path(const char* op, const std::filesystem::path& path) {
  return std::string(op) + "(\"" + path.string() + "\")";
}

FileBytes::FileBytes(const std::filesystem::path& path, const std::string& where) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail(where, "the path is a directory");
  in_.open(path, std::ios::binary);
  if (!in_) fail(where, "cannot open the file for reading: " + errno_text());
  in_.seekg(0, std::ios::end);
  std::streamoff end = in_.tellg();
  if (!in_ || end < 0) fail(where, "cannot determine the file size");
  size_ = static_cast<uint64_t>(end);
}

void FileBytes::copy(uint64_t offset, void* dst, uint64_t n, const std::string& where) const {
  in_.clear();
  in_.seekg(static_cast<std::streamoff>(offset));
  auto* p = static_cast<char*>(dst);
  // istream::read takes a signed count; read in chunks so that any size works.
  constexpr uint64_t kChunk = uint64_t{1} << 30;
  while (n) {
    uint64_t k = n < kChunk ? n : kChunk;
    in_.read(p, static_cast<std::streamsize>(k));
    if (static_cast<uint64_t>(in_.gcount()) != k) fail(where, "read error: " + errno_text());
    p += k;
    n -= k;
  }
}

FileWriter::FileWriter(const std::filesystem::path& path, std::string where)
    : path_(path), tmp_(path), where_(std::move(where)) {
  tmp_ += ".tmp";
  out_.open(tmp_, std::ios::binary | std::ios::trunc);
  if (!out_) fail(where_, "cannot open \"" + tmp_.string() + "\" for writing: " + errno_text());
}

FileWriter::~FileWriter() {
  if (!committed_) {
    out_.close();
    std::error_code ec;
    std::filesystem::remove(tmp_, ec);
  }
}

void FileWriter::write(const void* src, uint64_t n) {
  const auto* p = static_cast<const char*>(src);
  constexpr uint64_t kChunk = uint64_t{1} << 30;
  while (n) {
    uint64_t k = n < kChunk ? n : kChunk;
    out_.write(p, static_cast<std::streamsize>(k));
    if (!out_) fail(where_, "write error: " + errno_text());
    p += k;
    n -= k;
    pos_ += k;
  }
}

void FileWriter::commit() {
  out_.close();
  if (!out_) fail(where_, "write error while closing the file: " + errno_text());
  std::error_code ec;
  std::filesystem::rename(tmp_, path_, ec);
  if (ec)
    fail(where_, "cannot rename \"" + tmp_.string() + "\" to the final name: " + ec.message());
  committed_ = true;
}

}  // namespace nx::io::detail
