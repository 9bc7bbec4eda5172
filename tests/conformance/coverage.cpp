#include "coverage.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "nx/core/primitive.hpp"

namespace nx::conformance {

std::vector<Result>& results() {
  static std::vector<Result> rs;
  return rs;
}

namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p);
  if (!f) throw std::runtime_error("conformance: cannot read " + p.string());
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Comments and string/char literals blanked, so that neither can fake a declaration.
std::string strip_comments_and_literals(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 2, "//") == 0) {
      while (i < s.size() && s[i] != '\n') ++i;
      out += '\n';
    } else if (s.compare(i, 2, "/*") == 0) {
      size_t end = s.find("*/", i + 2);
      i = end == std::string::npos ? s.size() : end + 1;
      out += ' ';
    } else if (s[i] == '"' || s[i] == '\'') {
      char q = s[i];
      for (++i; i < s.size() && s[i] != q; ++i)
        if (s[i] == '\\') ++i;
      out += "\"\"";
    } else {
      out += s[i];
    }
  }
  return out;
}

// Keeps only text at namespace scope outside `namespace detail`: bodies of functions, structs
// and classes, and everything in detail, are dropped (their contents are not free ops).
std::string namespace_scope(const std::string& s) {
  static const std::regex kNamespace(R"(namespace\s+([A-Za-z_][\w:]*)?\s*$)");
  std::string out;
  std::vector<bool> keep_stack;  // per open brace: is its content kept?
  size_t line_start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    bool keeping = keep_stack.empty() || keep_stack.back();
    char ch = s[i];
    if (ch == '{') {
      std::string before = s.substr(line_start, i - line_start);
      std::smatch m;
      bool is_ns = std::regex_search(before, m, kNamespace);
      bool keep = keeping && is_ns && m[1].str() != "detail";
      if (keeping) out += keep ? ";" : "{}";
      keep_stack.push_back(keep);
    } else if (ch == '}') {
      if (!keep_stack.empty()) keep_stack.pop_back();
      if (keep_stack.empty() || keep_stack.back()) out += ';';
    } else if (keeping) {
      out += ch;
    }
    if (ch == '\n' || ch == ';' || ch == '{' || ch == '}') line_start = i + 1;
  }
  return out;
}

}  // namespace

std::set<std::string> declared_ops(const std::filesystem::path& ops_dir) {
  static const std::regex kDecl(
      R"((?:^|[;\s])(?:template\s*<[^;{}]*>\s*)?(?:inline\s+)?)"
      R"((?:Tensor|std::pair<\s*Tensor\s*,\s*Tensor\s*>|std::vector<\s*Tensor\s*>)\s+)"
      R"((operator\s*[^\s(]+|[A-Za-z_]\w*)\s*\()");
  std::set<std::string> ops;
  for (const auto& entry : std::filesystem::directory_iterator(ops_dir)) {
    if (entry.path().extension() != ".hpp") continue;
    std::string text = namespace_scope(strip_comments_and_literals(read_file(entry.path())));
    for (std::sregex_iterator it(text.begin(), text.end(), kDecl), end; it != end; ++it) {
      std::string name = (*it)[1].str();
      name.erase(std::remove_if(name.begin(), name.end(),
                                [](unsigned char ch) { return std::isspace(ch) != 0; }),
                 name.end());
      ops.insert(name);
    }
  }
  return ops;
}

std::vector<std::string> unexercised_primitives(const std::vector<Result>& rs) {
  std::vector<bool> hit(detail::kNumPrims, false);
  for (const Result& r : rs) {
    if (r.status != Status::Pass || r.spec->expect_error) continue;
    for (int p : r.prims) hit[static_cast<size_t>(p)] = true;
  }
  std::vector<std::string> missing;
  for (int p = 0; p < detail::kNumPrims; ++p) {
    if (!hit[static_cast<size_t>(p)])
      missing.emplace_back(detail::kPrimInfo[static_cast<size_t>(p)].name);
  }
  return missing;
}

}  // namespace nx::conformance
