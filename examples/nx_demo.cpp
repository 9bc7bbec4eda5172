// A tour of nx, run eagerly on the CPU: `make demo`.
//
// Fits a linear least-squares model with QR, then classifies with softmax, printing each step.
#include <chrono>
#include <iostream>

#include "nx/nx.hpp"

int main() {
  using namespace std::chrono;
  std::cout << "nx demo: tensors, ops, random keys and linear algebra\n\n";

  nx::Tensor a = nx::tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
  std::cout << "a =\n" << a << "\n\n";
  std::cout << "exp(a) * 2 + 1 =\n" << nx::exp(a) * 2 + 1 << "\n\n";
  std::cout << "sum over axis 1, keeping it =\n"
            << nx::sum(a, {.axes = nx::Axes{1}, .keep_axes = true}) << "\n\n";
  std::cout << "softmax(a) =\n" << nx::softmax(a) << "\n\n";

  // Least squares y = X w + noise, solved through QR: w = R^-1 Q^T y.
  auto key = nx::random::key(42);
  auto keys = nx::random::split(key, 2);
  int64_t n = 512, d = 4;
  nx::Tensor x = nx::random::normal(nx::take(keys, nx::scalar_int(0, nx::s64)), {n, d});
  nx::Tensor true_w = nx::tensor({{0.5}, {-1.0}, {2.0}, {3.0}});
  nx::Tensor noise = nx::random::normal(nx::take(keys, nx::scalar_int(1, nx::s64)), {n, 1}) * 0.01;
  nx::Tensor y = nx::dot(x, true_w) + noise;
  auto [q, r] = nx::qr(x);
  nx::Tensor qty = nx::dot(nx::transpose(q), y);
  // Back substitution on the 4x4 upper-triangular R, one row at a time.
  std::vector<float> w(static_cast<size_t>(d));
  auto rv = r.to_vector<float>();
  auto bv = qty.to_vector<float>();
  for (int64_t i = d - 1; i >= 0; --i) {
    float s = bv[i];
    for (int64_t j = i + 1; j < d; ++j) s -= rv[i * d + j] * w[j];
    w[i] = s / rv[i * d + i];
  }
  std::cout << "least squares on " << n << " noisy samples recovers w = ";
  std::cout << nx::from_vector(w) << "\n\n";

  // A big elementwise pipeline to show throughput on both cores.
  nx::Tensor big = nx::random::uniform(key, {4096, 4096});
  auto t0 = steady_clock::now();
  nx::Tensor s = nx::sum(nx::tanh(big) * big);
  double ms = duration<double, std::milli>(steady_clock::now() - t0).count();
  std::cout << "sum(tanh(x) * x) over 16M elements = " << s.item<float>() << " in " << ms
            << " ms\n";
  return 0;
}
