#include "fn_test_helpers.hpp"

#include <map>
#include <mutex>
#include <stdexcept>

#include "nx/ops/creation.hpp"

namespace fn_test {

const Tree& reference(const std::string& name) {
  static std::mutex mu;
  static std::map<std::string, Tree> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(name);
  if (it == cache.end()) {
    it = cache.emplace(name, nx::io::load_npz(data_dir() / (name + ".npz"))).first;
  }
  return it->second;
}

Tensor ref(const std::string& name, const std::string& key) {
  const Tree& r = reference(name);
  if (!r.contains(key)) {
    ADD_FAILURE() << "reference " << name << ".npz has no member " << key;
    throw std::runtime_error("missing reference member " + name + ":" + key);
  }
  return r[key].leaf();
}

std::vector<double> values(const Tensor& t) {
  Tensor d = nx::as_type(t, nx::f64);
  const double* p = d.data<double>();
  return std::vector<double>(p, p + d.size());
}

void expect_close(const Tensor& actual, const Tensor& expected, double rtol, double atol,
                  const std::string& what) {
  ASSERT_EQ(actual.shape(), expected.shape()) << what << ": shape";
  std::vector<double> a = values(actual), e = values(expected);
  int reported = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) && std::isnan(e[i])) continue;
    if (std::isinf(e[i]) && a[i] == e[i]) continue;
    if (!(std::abs(a[i] - e[i]) <= atol + rtol * std::abs(e[i]))) {
      ADD_FAILURE() << what << ": element " << i << " is " << a[i] << ", expected " << e[i];
      if (++reported == 5) return;
    }
  }
}

void check_forward_and_grads(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                             const std::vector<Tensor>& inputs, const Tensor& expected_out,
                             const Tensor& cotangent, const std::vector<size_t>& wrt,
                             const std::vector<Tensor>& expected_grads, double rtol, double atol,
                             const std::string& what) {
  expect_close(f(inputs), expected_out, rtol, atol, what + " forward");
  ASSERT_EQ(wrt.size(), expected_grads.size()) << what;
  if (wrt.empty()) return;
  Tree::List leaves;
  for (size_t i : wrt) leaves.push_back(Tree(inputs.at(i)));
  auto objective = [&](const Tree& x) {
    std::vector<Tensor> args = inputs;
    for (size_t j = 0; j < wrt.size(); ++j) args[wrt[j]] = x[j].leaf();
    return nx::sum(nx::multiply(f(args), cotangent));
  };
  Tree eager = nx::grad(Tree::list(leaves), objective);
  auto compiled = nx::jit([&](const Tree& x) { return nx::grad(x, objective); });
  Tree jitted = compiled(Tree::list(leaves));
  for (size_t j = 0; j < wrt.size(); ++j) {
    const std::string n = what + " grad of input " + std::to_string(wrt[j]);
    expect_close(eager[j].leaf(), expected_grads[j], rtol, atol, n + " (eager)");
    expect_close(jitted[j].leaf(), expected_grads[j], rtol, atol, n + " (jit)");
  }
}

}  // namespace fn_test
