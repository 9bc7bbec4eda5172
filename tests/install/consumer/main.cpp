// A program outside the source tree that uses the installed library.
#include <nx/nx.hpp>

#include <iostream>

int main() {
  nx::Tensor x = nx::tensor({{1.0, 2.0}, {3.0, 4.0}});
  nx::Tensor y = nx::sum(x * 2 + 1);
  // Partial designated initializers of option structs must compile cleanly under -Wextra.
  nx::Tensor kept = nx::sum(x, {.keep_axes = true});
  nx::Tensor pooled = nx::window_max(x, {1, 2}, {.strides = {1, 1}});
  if (kept.shape() != nx::Shape{1, 1} || pooled.shape() != nx::Shape{2, 1}) {
    std::cerr << "unexpected shapes\n";
    return 1;
  }
  if (y.item<float>() != 24.0f) {
    std::cerr << "unexpected result " << y << "\n";
    return 1;
  }
  std::cout << "consumer ok: " << y.item<float>() << "\n";
  return 0;
}
