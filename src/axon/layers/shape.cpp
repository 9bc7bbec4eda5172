// The shape layers: build-time argument checks, then one parameterless node calling the
// axon::fn function (split: one node and an elem node per piece).
#include "axon/layers/shape.hpp"

#include "nx/error.hpp"

namespace axon {

namespace {

std::string list(const std::vector<int64_t>& s) {
  std::string out = "{";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "}";
}

std::string channels_name(fn::Channels c) {
  return c == fn::Channels::Last ? "last" : "first";
}

std::string method_name(fn::ResizeMethod m) {
  switch (m) {
    case fn::ResizeMethod::Nearest:
      return "nearest";
    case fn::ResizeMethod::Bilinear:
      return "bilinear";
    case fn::ResizeMethod::Bicubic:
      return "bicubic";
    case fn::ResizeMethod::Lanczos3:
      return "lanczos3";
    case fn::ResizeMethod::Lanczos5:
      return "lanczos5";
  }
  return "?";
}

std::vector<Model> split_pieces(const Model& x, size_t pieces, LayerFn f, AxisOptions opts,
                                std::vector<std::pair<std::string, std::string>> shown,
                                SourceLocation where) {
  Model all =
      layer(std::move(f), {x},
            {.name = std::move(opts.name), .op_name = "split", .options = std::move(shown)}, where);
  std::vector<Model> out;
  for (size_t i = 0; i < pieces; ++i) out.push_back(elem(all, i, {}, where));
  return out;
}

}  // namespace

Model flatten(const Model& x, ShapeOptions opts, SourceLocation where) {
  return layer([](const LayerCall& c) { return LayerResult{fn::flatten(c.input(0))}; }, {x},
               {.name = std::move(opts.name), .op_name = "flatten"}, where);
}

Model reshape(const Model& x, nx::Shape shape, ShapeOptions opts, SourceLocation where) {
  int64_t autos = 0;
  for (int64_t d : shape) {
    if (d < 0 && d != kBatch && d != kAuto) {
      throw nx::Error("axon::reshape: sizes must be >= 0, kBatch or kAuto, got " + list(shape));
    }
    autos += d == kAuto;
  }
  if (autos > 1)
    throw nx::Error("axon::reshape: at most one size may be kAuto, got " + list(shape));
  std::string shown = list(shape);
  return layer(
      [shape](const LayerCall& c) { return LayerResult{fn::reshape(c.input(0), shape)}; }, {x},
      {.name = std::move(opts.name), .op_name = "reshape", .options = {{"shape", shown}}}, where);
}

Model transpose(const Model& x, std::optional<nx::Axes> perm, TransposeOptions opts,
                SourceLocation where) {
  std::string shown = perm ? list(*perm) : "nil";
  return layer(
      [perm](const LayerCall& c) { return LayerResult{fn::transpose(c.input(0), perm)}; }, {x},
      {.name = std::move(opts.name), .op_name = "transpose", .options = {{"permutation", shown}}},
      where);
}

Model pad(const Model& x, std::vector<std::pair<int64_t, int64_t>> padding, PadOptions opts,
          SourceLocation where) {
  std::string shown = "[";
  for (size_t i = 0; i < padding.size(); ++i) {
    shown += (i ? ", {" : "{") + std::to_string(padding[i].first) + ", " +
             std::to_string(padding[i].second) + "}";
  }
  shown += "]";
  fn::PadOptions po{.value = opts.value, .channels = opts.channels};
  return layer(
      [padding, po](const LayerCall& c) { return LayerResult{fn::pad(c.input(0), padding, po)}; },
      {x},
      {.name = std::move(opts.name),
       .op_name = "pad",
       .options = {{"padding", shown},
                   {"value", std::to_string(opts.value)},
                   {"channels", channels_name(opts.channels)}}},
      where);
}

Model resize(const Model& x, fn::Sizes size, ResizeOptions opts, SourceLocation where) {
  if (size.empty()) throw nx::Error("axon::resize: size needs at least one value, got {}");
  for (int64_t s : size) {
    if (s <= 0) throw nx::Error("axon::resize: sizes must be positive, got " + list(size));
  }
  fn::ResizeOptions ro{
      .method = opts.method, .antialias = opts.antialias, .channels = opts.channels};
  return layer(
      [size, ro](const LayerCall& c) { return LayerResult{fn::resize(c.input(0), size, ro)}; }, {x},
      {.name = std::move(opts.name),
       .op_name = "resize",
       .options = {{"size", list(size)},
                   {"method", method_name(opts.method)},
                   {"antialias", opts.antialias ? "true" : "false"},
                   {"channels", channels_name(opts.channels)}}},
      where);
}

Model concatenate(std::vector<Model> xs, AxisOptions opts, SourceLocation where) {
  if (xs.empty()) throw nx::Error("axon::concatenate: needs at least one input, got none");
  const int64_t axis = opts.axis;
  return layer(
      [axis](const LayerCall& c) {
        std::vector<Tensor> ts;
        for (size_t i = 0; i < c.inputs.size(); ++i) ts.push_back(c.input(i));
        return LayerResult{fn::concatenate(ts, axis)};
      },
      std::move(xs),
      {.name = std::move(opts.name),
       .op_name = "concatenate",
       .options = {{"axis", std::to_string(axis)}}},
      where);
}

Model concatenate(const Model& x, const Model& y, AxisOptions opts, SourceLocation where) {
  return concatenate(std::vector<Model>{x, y}, std::move(opts), where);
}

std::vector<Model> split(const Model& x, int64_t n, AxisOptions opts, SourceLocation where) {
  if (n <= 0)
    throw nx::Error("axon::split: the number of pieces must be positive, got " + std::to_string(n));
  const int64_t axis = opts.axis;
  auto f = [n, axis](const LayerCall& c) {
    std::vector<Tree> parts;
    for (Tensor& t : fn::split(c.input(0), n, axis)) parts.emplace_back(std::move(t));
    return LayerResult{Tree::list(std::move(parts))};
  };
  return split_pieces(x, static_cast<size_t>(n), f, std::move(opts),
                      {{"splits", std::to_string(n)}, {"axis", std::to_string(axis)}}, where);
}

std::vector<Model> split(const Model& x, const fn::Sizes& sizes, AxisOptions opts,
                         SourceLocation where) {
  if (sizes.empty()) throw nx::Error("axon::split: needs at least one piece size, got {}");
  for (int64_t s : sizes) {
    if (s < 0) throw nx::Error("axon::split: piece sizes must be >= 0, got " + list(sizes));
  }
  const int64_t axis = opts.axis;
  auto f = [sizes, axis](const LayerCall& c) {
    std::vector<Tree> parts;
    for (Tensor& t : fn::split(c.input(0), sizes, axis)) parts.emplace_back(std::move(t));
    return LayerResult{Tree::list(std::move(parts))};
  };
  return split_pieces(x, sizes.size(), f, std::move(opts),
                      {{"splits", list(sizes)}, {"axis", std::to_string(axis)}}, where);
}

}  // namespace axon
