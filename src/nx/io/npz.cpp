// .npz: a zip archive of .npy members, one per named array (numpy.savez, savez_compressed).
#include <unordered_set>

#include "named.hpp"
#include "npy.hpp"
#include "nx/io.hpp"
#include "zip.hpp"

namespace nx::io {

namespace {

constexpr std::string_view kSuffix = ".npy";

void write_npz(detail::Writer& out, const Tree& tensors, const NpzOptions& opts,
               const std::string& where) {
  std::vector<PathLeaf> leaves = detail::named_leaves(tensors, where);
  detail::ZipWriter zip(out, where);
  for (const PathLeaf& l : leaves) {
    std::vector<uint8_t> header = detail::npy_header(l.tensor, where + " (\"" + l.path + "\")");
    const std::span<const uint8_t> pieces[] = {header,
                                               {static_cast<const uint8_t*>(l.tensor.raw_data()),
                                                static_cast<size_t>(l.tensor.byte_size())}};
    zip.add(l.path + std::string(kSuffix), pieces, opts.compressed);
  }
  zip.finish();
}

Tree read_npz(const detail::RandomAccess& src, const std::string& where) {
  std::vector<detail::ZipEntry> entries = detail::read_zip_directory(src, where);
  Tree::Map out;
  out.reserve(entries.size());
  std::unordered_set<std::string> seen;
  for (const detail::ZipEntry& e : entries) {
    if (e.name.size() <= kSuffix.size() ||
        e.name.compare(e.name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
      detail::fail(where, "the member \"" + e.name + "\" is not an .npy file");
    }
    std::string key = e.name.substr(0, e.name.size() - kSuffix.size());
    if (!seen.insert(key).second)
      detail::fail(where, "the member \"" + e.name + "\" appears twice");
    const std::string member_where = where + " (member \"" + e.name + "\")";
    auto reader = detail::open_zip_entry(src, e, member_where);
    Tensor t = detail::read_npy(*reader, member_where);
    reader->finish();
    out.emplace_back(std::move(key), Tree(std::move(t)));
  }
  return Tree(std::move(out));
}

}  // namespace

Bytes encode_npz(const Tree& tensors, const NpzOptions& opts) {
  Bytes out;
  detail::VectorWriter w(out);
  write_npz(w, tensors, opts, "nx::io::encode_npz");
  return out;
}

Tree decode_npz(std::span<const uint8_t> bytes) {
  detail::MemoryBytes src(bytes);
  return read_npz(src, "nx::io::decode_npz");
}

void save_npz(const std::filesystem::path& path, const Tree& tensors, const NpzOptions& opts) {
  const std::string where = detail::with_path("nx::io::save_npz", path);
  detail::named_leaves(tensors, where);  // fail before creating the file
  detail::FileWriter w(path, where);
  write_npz(w, tensors, opts, where);
  w.commit();
}

Tree load_npz(const std::filesystem::path& path) {
  const std::string where = detail::with_path("nx::io::load_npz", path);
  detail::FileBytes src(path, where);
  return read_npz(src, where);
}

}  // namespace nx::io
