// ONNX tensor family: GridSample (opset 16), PyTorch's grid_sample semantics (which the ONNX
// spec and its test data follow): 4-D input [N, C, H, W], grid [N, H_out, W_out, 2] of (x, y) in
// [-1, 1]; modes bilinear, nearest (round half to even), bicubic (A = -0.75); padding zeros,
// border, reflection; align_corners. The grid may be traced (it usually comes from the model's
// data): the taps are gathers with computed indices, so gradients reach both X and the grid.
#include "axon/onnx/ops_tensor_internal.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/indexing.hpp"
#include "nx/ops/shape.hpp"

namespace axon::onnx_import::tensor_ops {
namespace {

using nx::Tensor;
using Outs = std::vector<Tensor>;

struct Sampler {
  Tensor flat;  // X as [N, C, H * W]
  int64_t n, c, h, w, ho, wo;
  std::string padding;
  bool align;
  nx::DType dt;

  Tensor num(double v) const { return nx::scalar(v, dt); }

  // Grid coordinate in [-1, 1] to pixel coordinate.
  Tensor unnormalize(const Tensor& g, int64_t size) const {
    auto s = static_cast<double>(size);
    if (align) return nx::multiply(nx::add(g, num(1)), num((s - 1) / 2));
    return nx::divide(nx::subtract(nx::multiply(nx::add(g, num(1)), num(s)), num(1)), num(2));
  }

  // PyTorch's reflect_coordinates(in, twice_low, twice_high).
  Tensor reflect(const Tensor& x, double twice_low, double twice_high) const {
    if (twice_low == twice_high) return nx::zeros_like(x);
    double lo = twice_low / 2, span = (twice_high - twice_low) / 2;
    Tensor in = nx::abs(nx::subtract(x, num(lo)));
    Tensor extra = nx::remainder(in, num(span));
    Tensor flips = nx::floor(nx::divide(in, num(span)));
    Tensor even = nx::equal(nx::remainder(flips, num(2)), num(0));
    return nx::select(even, nx::add(extra, num(lo)),
                      nx::add(nx::subtract(num(span), extra), num(lo)));
  }

  // Padding applied to a pixel coordinate (border: clip; reflection: reflect, then clip).
  Tensor pad_coord(const Tensor& x, int64_t size) const {
    auto s = static_cast<double>(size);
    if (padding == "border") return nx::clip(x, num(0), num(s - 1));
    if (padding == "reflection") {
      Tensor r = align ? reflect(x, 0, 2 * (s - 1)) : reflect(x, -1, 2 * s - 1);
      return nx::clip(r, num(0), num(s - 1));
    }
    return x;
  }

  // X at integer pixel coordinates (float tensors holding integers, [N, Ho, Wo]); zero outside.
  Tensor tap(const Tensor& xf, const Tensor& yf) const {
    Tensor xi = nx::as_type(xf, nx::s64), yi = nx::as_type(yf, nx::s64);
    Tensor zero = nx::scalar_int(0, nx::s64);
    Tensor ok = nx::logical_and(
        nx::logical_and(nx::greater_equal(xi, zero), nx::less(xi, nx::scalar_int(w, nx::s64))),
        nx::logical_and(nx::greater_equal(yi, zero), nx::less(yi, nx::scalar_int(h, nx::s64))));
    xi = nx::clip(xi, zero, nx::scalar_int(w - 1, nx::s64));
    yi = nx::clip(yi, zero, nx::scalar_int(h - 1, nx::s64));
    Tensor lin =
        nx::reshape(nx::add(nx::multiply(yi, nx::scalar_int(w, nx::s64)), xi), {n, 1, ho * wo});
    Tensor v = nx::take_along_axis(flat, nx::broadcast(lin, {n, c, ho * wo}), 2);
    v = nx::reshape(v, {n, c, ho, wo});
    Tensor m = nx::reshape(ok, {n, 1, ho, wo});
    return nx::select(m, v, nx::zeros_like(v));
  }
};

Tensor cubic1(const Tensor& x, const Sampler& s, double a) {  // |x| <= 1
  return nx::add(
      nx::multiply(nx::multiply(nx::subtract(nx::multiply(x, s.num(a + 2)), s.num(a + 3)), x), x),
      s.num(1));
}

Tensor cubic2(const Tensor& x, const Sampler& s, double a) {  // 1 < |x| < 2
  Tensor t = nx::subtract(nx::multiply(x, s.num(a)), s.num(5 * a));
  t = nx::add(nx::multiply(t, x), s.num(8 * a));
  return nx::subtract(nx::multiply(t, x), s.num(4 * a));
}

Outs grid_sample(const OpCall& call) {
  const Tensor& x = call.input(0);
  const Tensor& grid = call.input(1);
  if (x.rank() != 4) call.fail("expected a 4-D input [N, C, H, W], got " + dims_str(x.shape()));
  if (grid.rank() != 4 || grid.shape()[0] != x.shape()[0] || grid.shape()[3] != 2)
    call.fail("grid must have shape [N, H_out, W_out, 2] with N = " + std::to_string(x.shape()[0]) +
              ", got " + dims_str(grid.shape()));
  std::string mode = call.attr_string("mode", "bilinear");
  Sampler s;
  s.padding = call.attr_string("padding_mode", "zeros");
  if (s.padding != "zeros" && s.padding != "border" && s.padding != "reflection")
    call.fail("unknown padding_mode '" + s.padding + "'");
  s.align = call.attr_int("align_corners", 0) != 0;
  s.dt = x.dtype() == nx::f64 ? nx::f64 : nx::f32;
  s.n = x.shape()[0];
  s.c = x.shape()[1];
  s.h = x.shape()[2];
  s.w = x.shape()[3];
  s.ho = grid.shape()[1];
  s.wo = grid.shape()[2];
  s.flat = nx::reshape(nx::as_type(x, s.dt), {s.n, s.c, s.h * s.w});
  Tensor g = nx::as_type(grid, s.dt);
  Tensor gx = nx::reshape(nx::slice(g, {0, 0, 0, 0}, {s.n, s.ho, s.wo, 1}), {s.n, s.ho, s.wo});
  Tensor gy = nx::reshape(nx::slice(g, {0, 0, 0, 1}, {s.n, s.ho, s.wo, 1}), {s.n, s.ho, s.wo});
  Tensor ix = s.unnormalize(gx, s.w), iy = s.unnormalize(gy, s.h);
  auto bcast = [&](const Tensor& t) { return nx::reshape(t, {s.n, 1, s.ho, s.wo}); };
  Tensor out;
  if (mode == "bilinear") {
    ix = s.pad_coord(ix, s.w);
    iy = s.pad_coord(iy, s.h);
    Tensor x0 = nx::floor(ix), y0 = nx::floor(iy);
    Tensor x1 = nx::add(x0, s.num(1)), y1 = nx::add(y0, s.num(1));
    Tensor wx1 = nx::subtract(ix, x0), wy1 = nx::subtract(iy, y0);
    Tensor wx0 = nx::subtract(s.num(1), wx1), wy0 = nx::subtract(s.num(1), wy1);
    out = nx::add(nx::add(nx::multiply(s.tap(x0, y0), bcast(nx::multiply(wx0, wy0))),
                          nx::multiply(s.tap(x1, y0), bcast(nx::multiply(wx1, wy0)))),
                  nx::add(nx::multiply(s.tap(x0, y1), bcast(nx::multiply(wx0, wy1))),
                          nx::multiply(s.tap(x1, y1), bcast(nx::multiply(wx1, wy1)))));
  } else if (mode == "nearest") {
    ix = nx::round_even(s.pad_coord(ix, s.w));
    iy = nx::round_even(s.pad_coord(iy, s.h));
    out = s.tap(ix, iy);
  } else if (mode == "bicubic") {
    const double a = -0.75;
    Tensor x0 = nx::floor(ix), y0 = nx::floor(iy);
    Tensor tx = nx::subtract(ix, x0), ty = nx::subtract(iy, y0);
    auto coeffs = [&](const Tensor& t) {
      Tensor one = s.num(1);
      return std::vector<Tensor>{cubic2(nx::add(t, one), s, a), cubic1(t, s, a),
                                 cubic1(nx::subtract(one, t), s, a),
                                 cubic2(nx::subtract(s.num(2), t), s, a)};
    };
    std::vector<Tensor> cx = coeffs(tx), cy = coeffs(ty);
    for (int j = 0; j < 4; ++j) {
      Tensor yy = s.pad_coord(nx::add(y0, s.num(j - 1)), s.h);
      Tensor row;
      for (int i = 0; i < 4; ++i) {
        Tensor xx = s.pad_coord(nx::add(x0, s.num(i - 1)), s.w);
        Tensor t = nx::multiply(s.tap(xx, yy), bcast(cx[static_cast<size_t>(i)]));
        row = row.defined() ? nx::add(row, t) : t;
      }
      Tensor t = nx::multiply(row, bcast(cy[static_cast<size_t>(j)]));
      out = out.defined() ? nx::add(out, t) : t;
    }
  } else {
    call.fail("unknown mode '" + mode + "' (expected bilinear, nearest or bicubic)");
  }
  return {out.dtype() == x.dtype() ? out : nx::as_type(out, x.dtype())};
}

}  // namespace

void register_gridsample_ops() {
  register_op({"GridSample", grid_sample, 16});
}

}  // namespace axon::onnx_import::tensor_ops
