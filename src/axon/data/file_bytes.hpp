// Reading a whole file, gunzipped when it starts with the gzip magic (shared by the readers).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace axon::data::detail {

/// The bytes of `path`, inflated when gzipped; errors are nx::Error("<where>: ...").
std::vector<uint8_t> read_file_maybe_gzipped(const std::filesystem::path& path,
                                             const std::string& where);

}  // namespace axon::data::detail
