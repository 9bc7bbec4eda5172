#include "grad_manifest.hpp"

#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>

#include "nx/io.hpp"

#ifndef NX_CONFORMANCE_GRAD_DATA_DIR
#error "NX_CONFORMANCE_GRAD_DATA_DIR must name tests/conformance/data_grad"
#endif

namespace nx::conformance {

namespace {

GradManifest load() {
  std::filesystem::path path =
      std::filesystem::path(NX_CONFORMANCE_GRAD_DATA_DIR) / "manifest.json";
  std::ifstream f(path);
  if (!f) throw std::runtime_error("conformance: cannot open " + path.string());
  Json j = Json::parse(f);
  if (j.at("format").get<int>() != 1)
    throw std::runtime_error("conformance: unknown gradient manifest format");
  GradManifest m;
  for (const auto& [op, why] : j.at("non_differentiable").items()) {
    m.non_differentiable[op] = why.get<std::string>();
  }
  for (const Json& c : j.at("cases")) {
    GradCaseSpec s;
    s.name = c.at("name").get<std::string>();
    s.op = c.at("op").get<std::string>();
    s.file = c.at("file").get<std::string>();
    s.key = c.at("key").get<std::string>();
    s.attrs = c.at("attrs");
    s.inputs = c.at("in").get<std::vector<std::string>>();
    s.num_outputs = c.at("num_outputs").get<int>();
    s.outputs = c.at("outputs").get<std::vector<int>>();
    s.wrt = c.at("wrt").get<std::vector<int>>();
    for (const Json& mode : c.at("modes")) s.modes.push_back(parse_dtype(mode.get<std::string>()));
    s.zero_grad = c.value("zero_grad", false);
    s.tol_scale = c.value("tol_scale", 1.0);
    m.cases.push_back(std::move(s));
  }
  return m;
}

}  // namespace

const GradManifest& grad_manifest() {
  static const GradManifest m = load();
  return m;
}

Tensor grad_array(const GradCaseSpec& c, const std::string& suffix) {
  // Each op's NPZ is read once; the cases of an op are adjacent in the table.
  static std::mutex mu;
  static std::map<std::string, Tree> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(c.file);
  if (it == cache.end()) {
    it = cache
             .emplace(c.file,
                      io::load_npz(std::filesystem::path(NX_CONFORMANCE_GRAD_DATA_DIR) / c.file))
             .first;
  }
  std::string key = c.key + "." + suffix;
  const Tree* node = it->second.find(key);
  if (node == nullptr) throw std::runtime_error("conformance: " + c.file + " has no array " + key);
  return node->leaf();
}

}  // namespace nx::conformance
