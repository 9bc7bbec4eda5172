// A small, strict JSON reader and string writer for safetensors headers (RFC 8259).
//
// Strict means: one value surrounded only by whitespace, no comments, no trailing commas, no
// duplicate object keys, strings of valid UTF-8 with no raw control characters and no lone
// surrogate escapes, numbers in the RFC grammar, and at most 64 levels of nesting.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nx::io::detail {

/// A parsed JSON value.
struct Json {
  enum class Type : uint8_t { Null, Bool, Number, String, Array, Object };
  Type type = Type::Null;
  bool boolean = false;
  std::string text;               ///< String: the decoded UTF-8; Number: the literal
  std::vector<Json> items;        ///< Array elements; Object values, parallel to keys
  std::vector<std::string> keys;  ///< Object keys in order (unique)
};

/// Parses `text` as exactly one JSON value; throws nx::Error naming `where` and the byte offset.
Json parse_json(std::string_view text, const std::string& where);

/// The value of a number that is a non-negative integer fitting in 64 bits (no fraction, no
/// exponent); throws nx::Error naming `what` otherwise.
uint64_t json_u64(const Json& v, const std::string& where, const std::string& what);

/// True when `s` is valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool is_valid_utf8(std::string_view s);

/// `s` as a quoted JSON string (", \ and control characters escaped); `s` must be valid UTF-8.
std::string json_quote(std::string_view s);

/// "a string", "an object", ... for error messages.
const char* json_type_name(Json::Type t);

}  // namespace nx::io::detail
