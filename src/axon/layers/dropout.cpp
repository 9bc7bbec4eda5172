// Dropout layer builders: train-only nodes with a "key" State parameter; the computation and
// the key update are axon::fn's.
#include "axon/layers/dropout.hpp"

#include <functional>
#include <utility>
#include <vector>

#include "axon/fn/dropout.hpp"
#include "nx/random.hpp"
#include "spatial_options.hpp"

namespace axon {

namespace {

using layers_detail::fail;
using layers_detail::number_str;

using Options = std::vector<std::pair<std::string, std::string>>;
using DropoutFn = std::function<fn::StatefulOutput(const Tensor& x, const Tensor& key)>;

// The first key: nx::random::key(seed), or the key init derived for this parameter.
fn::init::Initializer key_initializer(std::optional<int64_t> seed) {
  if (seed) {
    Tensor key = nx::random::key(*seed);
    return [key](const nx::Shape&, nx::DType, const Tensor&) { return key; };
  }
  return [](const nx::Shape&, nx::DType, const Tensor& key) { return key; };
}

Model dropout_layer(const Model& x, const std::string& op, std::string name, double rate,
                    std::optional<int64_t> seed, Options shown, DropoutFn f,
                    SourceLocation where) {
  if (!(rate >= 0 && rate < 1)) fail(op, "rate must be in [0, 1), got " + number_str(rate));
  shown.insert(shown.begin(), {"rate", number_str(rate)});
  shown.emplace_back("seed", seed ? std::to_string(*seed) : "init");
  return layer(
      [f = std::move(f)](const LayerCall& c) {
        fn::StatefulOutput r = f(c.input(0), c.param("key"));
        return LayerResult{r.output, r.state};
      },
      {x},
      {.name = std::move(name),
       .op_name = op,
       .mode = NodeMode::Train,
       .params = {param(
           "key", nx::Shape{2},
           {.initializer = key_initializer(seed), .dtype = nx::u32, .kind = ParamKind::State})},
       .options = std::move(shown)},
      where);
}

}  // namespace

// The node only runs in train mode, so the functions are called in Mode::Train.

Model dropout(const Model& x, DropoutOptions opts, SourceLocation where) {
  const fn::DropoutOptions fo{.rate = opts.rate, .mode = Mode::Train};
  return dropout_layer(
      x, "dropout", std::move(opts.name), opts.rate, opts.seed, {},
      [fo](const Tensor& t, const Tensor& key) { return fn::dropout(t, key, fo); }, where);
}

Model spatial_dropout(const Model& x, SpatialDropoutOptions opts, SourceLocation where) {
  const fn::SpatialDropoutOptions fo{
      .rate = opts.rate, .channels = opts.channels, .mode = Mode::Train};
  return dropout_layer(
      x, "spatial_dropout", std::move(opts.name), opts.rate, opts.seed,
      {{"channels", layers_detail::channels_str(opts.channels)}},
      [fo](const Tensor& t, const Tensor& key) { return fn::spatial_dropout(t, key, fo); }, where);
}

Model alpha_dropout(const Model& x, DropoutOptions opts, SourceLocation where) {
  const fn::AlphaDropoutOptions fo{.rate = opts.rate, .mode = Mode::Train};
  return dropout_layer(
      x, "alpha_dropout", std::move(opts.name), opts.rate, opts.seed, {},
      [fo](const Tensor& t, const Tensor& key) { return fn::alpha_dropout(t, key, fo); }, where);
}

Model feature_alpha_dropout(const Model& x, SpatialDropoutOptions opts,
                            SourceLocation where) {
  const fn::FeatureAlphaDropoutOptions fo{
      .rate = opts.rate, .channels = opts.channels, .mode = Mode::Train};
  return dropout_layer(
      x, "feature_alpha_dropout", std::move(opts.name), opts.rate, opts.seed,
      {{"channels", layers_detail::channels_str(opts.channels)}},
      [fo](const Tensor& t, const Tensor& key) { return fn::feature_alpha_dropout(t, key, fo); },
      where);
}

}  // namespace axon
