// ONNX signal processing (opset 17): HannWindow, HammingWindow, BlackmanWindow, DFT, STFT and
// MelWeightMatrix. Windows and the mel matrix depend only on concrete inputs (sizes, rates), so
// they are computed at trace time and become constants. DFT and STFT are matrix products with
// cos/sin matrices built at trace time (angles reduced exactly as 2*pi*((k*j) mod n)/n): exact
// to the compute type's rounding, differentiable, and a single GEMM per transform, which for the
// short frames of audio models is as fast as an FFT would be.
#include <cmath>
#include <numbers>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "axon/onnx/ops_nn_internal.hpp"

namespace axon::onnx_import::nn {
namespace {

using nx::Tensor;

// One integer scalar input (a size or a step), concrete.
int64_t scalar_int_input(const OpCall& call, size_t i, const char* what) {
  const Tensor& t = call.concrete(i);
  if (!nx::is_integer(t.dtype()) || t.size() != 1) {
    call.fail(std::string(what) + " (input " + std::to_string(i) +
              ") must be an integer scalar, got " + nx::type_string(t.type()));
  }
  return t.item<int64_t>();
}

// ---- Windows ------------------------------------------------------------------------------------

// The generalized cosine window a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N), n in [0, size),
// with N = size (periodic) or size - 1 (symmetric), in the output_datatype (default float).
Converter cosine_window(double a0, double a1, double a2) {
  return [a0, a1, a2](const OpCall& call) {
    const int64_t size = scalar_int_input(call, 0, "size");
    if (size < 0) call.fail("size must be >= 0, got " + std::to_string(size));
    const nx::DType dtype = dtype_from_onnx(call, call.attr_int("output_datatype", 1));
    const bool periodic = call.attr_int("periodic", 1) != 0;
    const double n_total = static_cast<double>(periodic ? size : size - 1);
    std::vector<double> w(static_cast<size_t>(size));
    for (int64_t n = 0; n < size; ++n) {
      // As the ONNX function body: a symmetric window of size 1 divides 0 by 0 (NaN).
      const double phase = 2.0 * std::numbers::pi * static_cast<double>(n) / n_total;
      w[static_cast<size_t>(n)] = a0 - a1 * std::cos(phase) + a2 * std::cos(2.0 * phase);
    }
    return std::vector<Tensor>{nx::as_type(nx::from_vector(w, nx::Shape{size}), dtype)};
  };
}

// ---- DFT ----------------------------------------------------------------------------------------

// The compute type of a transform: f64 stays f64, every other float computes in f32.
nx::DType compute_type(const OpCall& call, const Tensor& x) {
  if (!nx::is_float(x.dtype())) {
    call.fail("input must be floating, got " + nx::type_string(x.type()));
  }
  return x.dtype() == nx::f64 ? nx::f64 : nx::f32;
}

// Contracts `axis` of x with the second axis of m [k, n], leaving the k axis at `axis`.
Tensor contract_axis(const Tensor& x, int64_t axis, const Tensor& m) {
  const Tensor y = nx::dot(x, {axis}, m, {1});  // free axes of x, then k
  nx::Axes perm;
  const int64_t r = x.rank();
  for (int64_t a = 0; a < r - 1; ++a) {
    if (a == axis) perm.push_back(r - 1);
    perm.push_back(a);
  }
  if (axis == r - 1) perm.push_back(r - 1);
  return nx::transpose(y, perm);
}

// x resized along axis to n: truncated, or zero-padded at the end.
Tensor fit_length(const Tensor& x, int64_t axis, int64_t n) {
  const int64_t have = x.shape()[static_cast<size_t>(axis)];
  if (have == n) return x;
  if (have > n) return nx::slice_along_axis(x, 0, n, axis);
  std::vector<nx::PadConfig> cfg(static_cast<size_t>(x.rank()), nx::PadConfig{0, 0, 0});
  cfg[static_cast<size_t>(axis)].hi = n - have;
  return nx::pad(x, nx::scalar(0.0, x.dtype()), cfg);
}

/// The DFT of length n along `axis` of the real part re (and imaginary part im, when given):
/// {real, imaginary} with `bins` frequencies (n, or n / 2 + 1 one-sided); the inverse divides
/// by n, as numpy.fft.ifft.
std::pair<Tensor, Tensor> dft(const Tensor& re, const std::optional<Tensor>& im, int64_t axis,
                              int64_t n, int64_t bins, bool inverse) {
  std::vector<double> c(static_cast<size_t>(bins * n)), s(c.size());
  const double scale = inverse ? 1.0 / static_cast<double>(n) : 1.0;
  for (int64_t k = 0; k < bins; ++k) {
    for (int64_t j = 0; j < n; ++j) {
      const double angle =
          2.0 * std::numbers::pi * static_cast<double>((k * j) % n) / static_cast<double>(n);
      c[static_cast<size_t>(k * n + j)] = scale * std::cos(angle);
      s[static_cast<size_t>(k * n + j)] = scale * std::sin(angle);
    }
  }
  const nx::DType dtype = re.dtype();
  const Tensor cm = nx::as_type(nx::from_vector(c, nx::Shape{bins, n}), dtype);
  const Tensor sm = nx::as_type(nx::from_vector(s, nx::Shape{bins, n}), dtype);
  // Forward: X = sum x e^{-i angle}; inverse: e^{+i angle}.
  Tensor out_re = contract_axis(re, axis, cm);
  const Tensor re_s = contract_axis(re, axis, sm);
  Tensor out_im = inverse ? re_s : nx::negate(re_s);
  if (im) {
    const Tensor im_c = contract_axis(*im, axis, cm);
    const Tensor im_s = contract_axis(*im, axis, sm);
    out_re = inverse ? nx::subtract(out_re, im_s) : nx::add(out_re, im_s);
    out_im = nx::add(out_im, im_c);
  }
  return {out_re, out_im};
}

// The real and imaginary parts of a [..., 1 or 2] signal, in the compute type.
std::pair<Tensor, std::optional<Tensor>> split_complex(const OpCall& call, const Tensor& x) {
  const nx::DType dtype = compute_type(call, x);
  const int64_t c = x.rank() == 0 ? 0 : x.shape().back();
  if (c != 1 && c != 2) {
    call.fail("the last axis of the input must be 1 (real) or 2 (complex), got " +
              nx::type_string(x.type()));
  }
  const Tensor xc = nx::as_type(x, dtype);
  const int64_t last = x.rank() - 1;
  const Tensor re = nx::squeeze(nx::slice_along_axis(xc, 0, 1, last), {last});
  if (c == 1) return {re, std::nullopt};
  return {re, nx::squeeze(nx::slice_along_axis(xc, 1, 1, last), {last})};
}

std::vector<Tensor> dft_op(const OpCall& call) {
  const Tensor& x = call.input(0);
  if (x.rank() < 3)
    call.fail("input needs rank >= 3 ([batch, signal..., 1 or 2]), got " +
              nx::type_string(x.type()));
  const int64_t r = x.rank();
  int64_t axis = call.attr_int("axis", 1);
  if (axis < 0) axis += r;
  if (axis < 0 || axis > r - 2) {
    call.fail("axis " + std::to_string(call.attr_int("axis", 1)) +
              " must name a signal axis (not the last, complex one) of rank " + std::to_string(r));
  }
  const bool inverse = call.attr_int("inverse", 0) != 0;
  const bool onesided = call.attr_int("onesided", 0) != 0;
  auto [re, im] = split_complex(call, x);
  if (onesided && (inverse || im)) {
    call.fail("onesided=1 needs a real input (last axis 1) and inverse=0");
  }
  int64_t n = x.shape()[static_cast<size_t>(axis)];
  if (call.has_input(1)) {
    n = scalar_int_input(call, 1, "dft_length");
    if (n < 1) call.fail("dft_length must be >= 1, got " + std::to_string(n));
    re = fit_length(re, axis, n);
    if (im) im = fit_length(*im, axis, n);
  }
  const int64_t bins = onesided ? n / 2 + 1 : n;
  auto [yr, yi] = dft(re, im, axis, n, bins, inverse);
  return {nx::as_type(nx::stack({yr, yi}, -1), x.dtype())};
}

// ---- STFT ---------------------------------------------------------------------------------------

std::vector<Tensor> stft_op(const OpCall& call) {
  const Tensor& signal = call.input(0);
  if (signal.rank() != 3) {
    call.fail("signal must be [batch, length, 1 or 2], got " + nx::type_string(signal.type()));
  }
  const int64_t step = scalar_int_input(call, 1, "frame_step");
  if (step < 1) call.fail("frame_step must be >= 1, got " + std::to_string(step));
  std::optional<Tensor> window;
  int64_t frame_length = -1;
  if (call.has_input(2)) {
    window = call.input(2);
    if (window->rank() != 1)
      call.fail("window must be 1-D, got " + nx::type_string(window->type()));
    frame_length = window->shape()[0];
  }
  if (call.has_input(3)) {
    const int64_t given = scalar_int_input(call, 3, "frame_length");
    if (window && given != frame_length) {
      call.fail("frame_length " + std::to_string(given) + " differs from the window's length " +
                std::to_string(frame_length));
    }
    frame_length = given;
  }
  if (frame_length < 0) call.fail("needs a window or a frame_length");
  const int64_t length = signal.shape()[1];
  if (frame_length < 1 || frame_length > length) {
    call.fail("frame_length " + std::to_string(frame_length) + " must be in [1, signal length " +
              std::to_string(length) + "]");
  }
  const bool onesided = call.attr_int("onesided", 1) != 0;
  auto [re, im] = split_complex(call, signal);  // [batch, length]
  if (onesided && im) call.fail("onesided=1 needs a real signal (last axis 1)");
  // Frames [batch, frames, frame_length] by one gather of the indices t * step + j.
  const int64_t frames = (length - frame_length) / step + 1;
  std::vector<int64_t> idx;
  idx.reserve(static_cast<size_t>(frames * frame_length));
  for (int64_t t = 0; t < frames; ++t) {
    for (int64_t j = 0; j < frame_length; ++j) idx.push_back(t * step + j);
  }
  const Tensor index = nx::from_vector(idx, nx::Shape{frames, frame_length});
  auto frame = [&](const Tensor& part) {
    Tensor f = nx::take(part, index, 1);
    if (window) f = nx::multiply(f, nx::as_type(*window, part.dtype()));
    return f;
  };
  std::optional<Tensor> im_frames;
  if (im) im_frames = frame(*im);
  const int64_t bins = onesided ? frame_length / 2 + 1 : frame_length;
  auto [yr, yi] = dft(frame(re), im_frames, 2, frame_length, bins, false);
  return {nx::as_type(nx::stack({yr, yi}, -1), signal.dtype())};
}

// ---- MelWeightMatrix ----------------------------------------------------------------------------

double scalar_float_input(const OpCall& call, size_t i, const char* what) {
  const Tensor& t = call.concrete(i);
  if (t.size() != 1) {
    call.fail(std::string(what) + " (input " + std::to_string(i) + ") must be a scalar, got " +
              nx::type_string(t.type()));
  }
  return t.item<double>();
}

// The ONNX reference: num_mel_bins + 2 points equally spaced on the mel scale
// (2595 log10(1 + f / 700)) between the edges, mapped to spectrogram bins
// floor((dft_length + 1) f / sample_rate), and a triangle per mel bin over those bins.
std::vector<Tensor> mel_weight_matrix_op(const OpCall& call) {
  const int64_t mel_bins = scalar_int_input(call, 0, "num_mel_bins");
  const int64_t dft_length = scalar_int_input(call, 1, "dft_length");
  const int64_t sample_rate = scalar_int_input(call, 2, "sample_rate");
  const double lower = scalar_float_input(call, 3, "lower_edge_hertz");
  const double upper = scalar_float_input(call, 4, "upper_edge_hertz");
  if (mel_bins < 1 || dft_length < 1 || sample_rate < 1) {
    call.fail("num_mel_bins, dft_length and sample_rate must be >= 1");
  }
  const nx::DType dtype = dtype_from_onnx(call, call.attr_int("output_datatype", 1));
  const int64_t spectrogram_bins = dft_length / 2 + 1;
  auto to_mel = [](double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); };
  const double low_mel = to_mel(lower);
  const double mel_step = (to_mel(upper) - low_mel) / static_cast<double>(mel_bins + 2);
  std::vector<int64_t> points(static_cast<size_t>(mel_bins + 2));
  for (int64_t i = 0; i < mel_bins + 2; ++i) {
    const double mel = static_cast<double>(i) * mel_step + low_mel;
    const double hz = 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0);
    points[static_cast<size_t>(i)] = static_cast<int64_t>(
        std::floor(static_cast<double>(dft_length + 1) * hz / static_cast<double>(sample_rate)));
  }
  for (int64_t p : points) {
    if (p < 0 || p >= spectrogram_bins) {
      call.fail("the mel points map to spectrogram bin " + std::to_string(p) + ", outside [0, " +
                std::to_string(spectrogram_bins) +
                "): the edges must lie within [0, sample_rate / 2]");
    }
  }
  std::vector<double> w(static_cast<size_t>(spectrogram_bins * mel_bins), 0.0);
  auto at = [&](int64_t j, int64_t i) -> double& {
    return w[static_cast<size_t>(j * mel_bins + i)];
  };
  for (int64_t i = 0; i < mel_bins; ++i) {
    const int64_t lo = points[static_cast<size_t>(i)];
    const int64_t center = points[static_cast<size_t>(i + 1)];
    const int64_t hi = points[static_cast<size_t>(i + 2)];
    if (center == lo) {
      at(center, i) = 1.0;
    } else {
      for (int64_t j = lo; j <= center; ++j) {
        at(j, i) = static_cast<double>(j - lo) / static_cast<double>(center - lo);
      }
    }
    for (int64_t j = center; j < hi; ++j) {
      at(j, i) = static_cast<double>(hi - j) / static_cast<double>(hi - center);
    }
  }
  return {nx::as_type(nx::from_vector(w, nx::Shape{spectrogram_bins, mel_bins}), dtype)};
}

}  // namespace
}  // namespace axon::onnx_import::nn

namespace axon::onnx_import {

void register_signal_ops() {
  using namespace nn;
  register_op({"HannWindow", cosine_window(0.5, 0.5, 0.0), 17});
  register_op({"HammingWindow", cosine_window(25.0 / 46.0, 21.0 / 46.0, 0.0), 17});
  register_op({"BlackmanWindow", cosine_window(0.42, 0.5, 0.08), 17});
  register_op({"DFT", dft_op, 17});
  register_op({"STFT", stft_op, 17});
  register_op({"MelWeightMatrix", mel_weight_matrix_op, 17});
}

}  // namespace axon::onnx_import
