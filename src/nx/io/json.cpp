// The strict JSON reader and string writer (see json.hpp).
#include "json.hpp"

#include <unordered_set>

#include "byte_io.hpp"

namespace nx::io::detail {

namespace {

constexpr int kMaxDepth = 64;

// Length of the UTF-8 sequence starting at s[i] if it is valid, else 0.
size_t utf8_length(std::string_view s, size_t i) {
  auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = at(i);
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if ((c & 0xE0) == 0xC0)
    n = 2, cp = c & 0x1F;
  else if ((c & 0xF0) == 0xE0)
    n = 3, cp = c & 0x0F;
  else if ((c & 0xF8) == 0xF0)
    n = 4, cp = c & 0x07;
  else
    return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((at(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (at(i + k) & 0x3F);
  }
  static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Parser {
 public:
  Parser(std::string_view s, const std::string& where) : s_(s), where_(where) {}

  Json document() {
    skip_ws();
    Json v = value(0);
    skip_ws();
    if (i_ != s_.size()) error("unexpected text after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void error(const std::string& msg) const {
    fail(where_, "bad JSON at byte " + std::to_string(i_) + ": " + msg);
  }
  bool at_end() const { return i_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[i_]; }
  void skip_ws() {
    while (!at_end() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  void literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) error("unexpected character");
    i_ += word.size();
  }

  Json value(int depth) {
    if (depth > kMaxDepth) error("nesting deeper than " + std::to_string(kMaxDepth) + " levels");
    Json v;
    switch (peek()) {
      case '{':
        v.type = Json::Type::Object, object(v, depth);
        break;
      case '[':
        v.type = Json::Type::Array, array(v, depth);
        break;
      case '"':
        v.type = Json::Type::String, v.text = string();
        break;
      case 't':
        v.type = Json::Type::Bool, v.boolean = true, literal("true");
        break;
      case 'f':
        v.type = Json::Type::Bool, literal("false");
        break;
      case 'n':
        literal("null");
        break;
      default:
        if (peek() == '-' || (peek() >= '0' && peek() <= '9')) {
          v.type = Json::Type::Number;
          v.text = number();
        } else {
          error(at_end() ? "unexpected end of input" : "unexpected character");
        }
    }
    return v;
  }

  void object(Json& v, int depth) {
    ++i_;
    skip_ws();
    if (peek() == '}') return void(++i_);
    std::unordered_set<std::string> keys;
    while (true) {
      if (peek() != '"') error("expected a string key");
      std::string key = string();
      if (!keys.insert(key).second) error("the key \"" + key + "\" repeats");
      skip_ws();
      if (peek() != ':') error("expected ':'");
      ++i_;
      skip_ws();
      v.keys.push_back(std::move(key));
      v.items.push_back(value(depth + 1));
      skip_ws();
      if (peek() == ',') {
        ++i_;
        skip_ws();
      } else if (peek() == '}') {
        return void(++i_);
      } else {
        error("expected ',' or '}'");
      }
    }
  }

  void array(Json& v, int depth) {
    ++i_;
    skip_ws();
    if (peek() == ']') return void(++i_);
    while (true) {
      v.items.push_back(value(depth + 1));
      skip_ws();
      if (peek() == ',') {
        ++i_;
        skip_ws();
      } else if (peek() == ']') {
        return void(++i_);
      } else {
        error("expected ',' or ']'");
      }
    }
  }

  uint32_t hex4() {
    if (i_ + 4 > s_.size()) error("truncated \\u escape");
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<uint32_t>(c - 'A' + 10);
      else
        error("bad hex digit in a \\u escape");
    }
    return v;
  }

  std::string string() {
    ++i_;  // opening quote
    std::string out;
    while (true) {
      if (at_end()) error("unterminated string");
      char c = s_[i_];
      if (c == '"') {
        ++i_;
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20) error("raw control character in a string");
      if (c != '\\') {
        size_t n = utf8_length(s_, i_);
        if (n == 0) error("invalid UTF-8 in a string");
        out.append(s_.substr(i_, n));
        i_ += n;
        continue;
      }
      ++i_;
      char e = peek();
      ++i_;
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          uint32_t cp = hex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) error("lone low surrogate in a \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (s_.substr(i_, 2) != "\\u") error("high surrogate without a low surrogate");
            i_ += 2;
            uint32_t lo = hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) error("high surrogate without a low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default:
          --i_, error("bad escape character");
      }
    }
  }

  std::string number() {
    size_t start = i_;
    auto digits = [&] {
      size_t d = i_;
      while (peek() >= '0' && peek() <= '9') ++i_;
      if (i_ == d) error("expected a digit");
    };
    if (peek() == '-') ++i_;
    if (peek() == '0') {
      ++i_;
      if (peek() >= '0' && peek() <= '9') error("a number has a leading zero");
    } else {
      digits();
    }
    if (peek() == '.') {
      ++i_;
      digits();
    }
    if (peek() == 'e' || peek() == 'E') {
      ++i_;
      if (peek() == '+' || peek() == '-') ++i_;
      digits();
    }
    return std::string(s_.substr(start, i_ - start));
  }

  std::string_view s_;
  const std::string& where_;
  size_t i_ = 0;
};

}  // namespace

Json parse_json(std::string_view text, const std::string& where) {
  return Parser(text, where).document();
}

uint64_t json_u64(const Json& v, const std::string& where, const std::string& what) {
  if (v.type != Json::Type::Number)
    fail(where, what + " must be a number, got " + json_type_name(v.type));
  uint64_t out = 0;
  for (char c : v.text) {
    if (c < '0' || c > '9') fail(where, what + " must be a non-negative integer, got " + v.text);
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (out > (UINT64_MAX - d) / 10) fail(where, what + " does not fit in 64 bits: " + v.text);
    out = out * 10 + d;
  }
  return out;
}

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string json_quote(std::string_view s) {
  static const char* hex = "0123456789abcdef";
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"')
      out += "\\\"";
    else if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\r')
      out += "\\r";
    else if (u < 0x20)
      out += std::string("\\u00") + hex[u >> 4] + hex[u & 0xF];
    else
      out += c;
  }
  return out + "\"";
}

const char* json_type_name(Json::Type t) {
  switch (t) {
    case Json::Type::Null:
      return "null";
    case Json::Type::Bool:
      return "a boolean";
    case Json::Type::Number:
      return "a number";
    case Json::Type::String:
      return "a string";
    case Json::Type::Array:
      return "an array";
    case Json::Type::Object:
      return "an object";
  }
  return "?";
}

}  // namespace nx::io::detail
