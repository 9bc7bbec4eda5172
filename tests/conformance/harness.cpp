#include "harness.hpp"

#include <cctype>
#include <stdexcept>

namespace nx::conformance {

std::map<std::string, Adapter>& adapters() {
  static std::map<std::string, Adapter> table;
  return table;
}

bool register_adapters(std::initializer_list<std::pair<const char*, Adapter>> entries) {
  auto& table = adapters();
  for (const auto& [name, fn] : entries) {
    if (!table.emplace(name, fn).second) {
      throw std::logic_error(std::string("conformance: adapter registered twice: ") + name);
    }
  }
  return true;
}

namespace {
const Json& required(const Json& at, const char* key) {
  auto it = at.find(key);
  if (it == at.end()) throw std::runtime_error(std::string("case attribute missing: ") + key);
  return *it;
}
}  // namespace

DType case_dtype(const Json& at) {
  return parse_dtype(required(at, "_dtype").get<std::string>());
}

int64_t int_attr(const Json& at, const char* key, std::optional<int64_t> fallback) {
  if (fallback && !at.contains(key)) return *fallback;
  return required(at, key).get<int64_t>();
}

double double_attr(const Json& at, const char* key, std::optional<double> fallback) {
  if (fallback && !at.contains(key)) return *fallback;
  return required(at, key).get<double>();
}

bool bool_attr(const Json& at, const char* key) {
  return at.value(key, false);
}

std::vector<int64_t> ints_attr(const Json& at, const char* key,
                               std::optional<std::vector<int64_t>> fallback) {
  if (fallback && !at.contains(key)) return *fallback;
  return required(at, key).get<std::vector<int64_t>>();
}

std::optional<std::vector<int64_t>> opt_ints_attr(const Json& at, const char* key) {
  if (!at.contains(key)) return std::nullopt;
  return at[key].get<std::vector<int64_t>>();
}

DType dtype_attr(const Json& at, const char* key) {
  return parse_dtype(required(at, key).get<std::string>());
}

Padding padding_attr(const Json& at) {
  if (!at.contains("padding")) return Padding::valid();
  const Json& p = at["padding"];
  if (p.is_string()) {
    std::string s = p.get<std::string>();
    if (s == "valid") return Padding::valid();
    if (s == "same") return Padding::same();
    throw std::runtime_error("unknown padding " + s);
  }
  std::vector<std::pair<int64_t, int64_t>> pairs;
  for (const Json& pair : p)
    pairs.emplace_back(pair.at(0).get<int64_t>(), pair.at(1).get<int64_t>());
  return Padding::explicit_pairs(std::move(pairs));
}

Tensor weak_scalar(const Json& value) {
  if (value.is_number_integer()) {
    int64_t v = value.get<int64_t>();
    if (v >= INT32_MIN && v <= INT32_MAX) return Tensor(static_cast<int>(v));
    return Tensor(v);
  }
  return Tensor(value.get<double>());
}

std::string test_name_of(const std::string& case_name) {
  std::string name;
  for (char ch : case_name) {
    switch (ch) {
      case '+':
        name += "add";
        break;
      case '-':
        name += "sub";
        break;
      case '*':
        name += "mul";
        break;
      case '/':
        name += "div";
        break;
      default:
        name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
    }
  }
  return name;
}

}  // namespace nx::conformance
