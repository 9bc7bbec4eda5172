#include "manifest.hpp"

#include <fstream>
#include <mutex>
#include <stdexcept>

#include "nx/io.hpp"

#ifndef NX_CONFORMANCE_DATA_DIR
#error "NX_CONFORMANCE_DATA_DIR must name tests/conformance/data"
#endif

namespace nx::conformance {

namespace {

// Keys follow gen_reference.py: "<case key>.<variant dtype>.i<n>" (inputs) / ".o<n>" (outputs).
std::vector<ArraySpec> arrays(const Json& dtypes, const std::string& prefix, const char* kind) {
  std::vector<ArraySpec> out;
  for (size_t i = 0; i < dtypes.size(); ++i) {
    out.push_back({prefix + kind + std::to_string(i), parse_dtype(dtypes[i].get<std::string>())});
  }
  return out;
}

Manifest load() {
  std::filesystem::path path = data_dir() / "manifest.json";
  std::ifstream f(path);
  if (!f) throw std::runtime_error("conformance: cannot open " + path.string());
  Json j = Json::parse(f);
  if (j.at("format").get<int>() != 1)
    throw std::runtime_error("conformance: unknown manifest format");
  Manifest m;
  for (const auto& [name, tol] : j.at("tolerance").items()) {
    m.tolerance[parse_dtype(name)] = {tol.at(0).get<double>(), tol.at(1).get<double>()};
  }
  for (const Json& c : j.at("cases")) {
    CaseSpec spec;
    spec.name = c.at("name").get<std::string>();
    spec.op = c.at("op").get<std::string>();
    spec.file = c.at("file").get<std::string>();
    spec.attrs = c.at("attrs");
    spec.expect_error = c.value("expect_error", false);
    spec.meta_only = c.value("meta_only", false);
    spec.tol_scale = c.value("tol_scale", 1.0);
    std::string key = c.at("key").get<std::string>();
    for (const Json& v : c.at("variants")) {
      std::string dtype = v.at("dtype").get<std::string>();
      std::string prefix = key + "." + dtype + ".";
      spec.variants.push_back(
          {parse_dtype(dtype), arrays(v.at("in"), prefix, "i"), arrays(v.at("out"), prefix, "o")});
    }
    m.cases.push_back(std::move(spec));
  }
  return m;
}

}  // namespace

Tolerance Manifest::tolerance_for(const CaseSpec& c, DType d) const {
  auto it = tolerance.find(d);
  if (it == tolerance.end()) return {};
  return {it->second.rtol * c.tol_scale, it->second.atol * c.tol_scale};
}

std::filesystem::path data_dir() {
  return NX_CONFORMANCE_DATA_DIR;
}

const Manifest& manifest() {
  static const Manifest m = load();
  return m;
}

Tensor load_array(const CaseSpec& c, const ArraySpec& a) {
  // Each op's NPZ is read once; the cases run in manifest order, so a small cache suffices.
  static std::mutex mu;
  static std::map<std::string, Tree> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(c.file);
  if (it == cache.end()) it = cache.emplace(c.file, io::load_npz(data_dir() / c.file)).first;
  const Tree* node = it->second.find(a.key);
  if (node == nullptr)
    throw std::runtime_error("conformance: " + c.file + " has no array " + a.key);
  Tensor t = node->leaf();
  if (a.dtype == DType::BF16 && t.dtype() == DType::U16)
    return from_data(t.raw_data(), t.shape(), a.dtype);
  if (t.dtype() != a.dtype) {
    throw std::runtime_error("conformance: " + a.key + " is " + std::string(dtype_name(t.dtype())) +
                             ", the manifest says " + std::string(dtype_name(a.dtype)));
  }
  return t;
}

}  // namespace nx::conformance
