// Pooling layers (Axon.max_pool, avg_pool, lp_pool, the adaptive and global pools, blur_pool),
// with Axon's options and defaults. None has parameters.
//
//   auto x = axon::input("image", {axon::kDynamic, 32, 32, 16});
//   auto a = axon::max_pool(x, {.kernel_size = {2}});               // {N, 16, 16, 16}
//   auto b = axon::adaptive_avg_pool(x, {.output_size = {4}});      // {N, 4, 4, 16}
//   auto c = axon::global_avg_pool(x);                              // {N, 16}
//
// Inputs are [batch, spatial..., channels] (channels Last, Axon's default) or [batch, channels,
// spatial...]. The computation is axon::fn's (axon/fn/pooling.hpp, which documents the
// semantics: strides default to the kernel size, avg_pool counts padded zeros, adaptive pools
// use Axon's window rule).
#pragma once

#include "axon/source_location.hpp"
#include <string>

#include "axon/fn/common.hpp"
#include "axon/model.hpp"
#include "nx/ops/conv.hpp"

namespace axon {

/// Options of max_pool and avg_pool. Sizes: empty = default, one value = every spatial axis.
struct PoolOptions {
  std::string name = {};
  fn::Sizes kernel_size{};                     ///< window size (default 1)
  fn::Sizes strides{};                         ///< empty = equal to kernel_size (Axon's default)
  nx::Padding padding = nx::Padding::valid();  ///< valid, same or explicit {lo, hi} per axis
  fn::Sizes dilations{};                       ///< spacing of the window taps (default 1)
  fn::Channels channels = fn::Channels::Last;
};
/// Options of lp_pool: PoolOptions plus the power.
struct LpPoolOptions {
  std::string name = {};
  fn::Sizes kernel_size{};  ///< window size (default 1)
  fn::Sizes strides{};      ///< empty = equal to kernel_size
  nx::Padding padding = nx::Padding::valid();
  fn::Sizes dilations{};  ///< spacing of the window taps (default 1)
  fn::Channels channels = fn::Channels::Last;
  double norm = 2;  ///< p of (sum x^p)^(1/p)
};

/// The maximum over each window.
Model max_pool(const Model& x, PoolOptions opts = {},
               SourceLocation where = SourceLocation::current());
/// The mean over each window (padded zeros count).
Model avg_pool(const Model& x, PoolOptions opts = {},
               SourceLocation where = SourceLocation::current());
/// (sum over each window of x^norm)^(1/norm).
Model lp_pool(const Model& x, LpPoolOptions opts = {},
              SourceLocation where = SourceLocation::current());

/// Options of adaptive_avg_pool and adaptive_max_pool.
struct AdaptivePoolOptions {
  std::string name = {};
  fn::Sizes output_size{};  ///< spatial output size; empty = the input's
  fn::Channels channels = fn::Channels::Last;
};
/// Options of adaptive_lp_pool.
struct AdaptiveLpPoolOptions {
  std::string name = {};
  fn::Sizes output_size{};  ///< spatial output size; empty = the input's
  fn::Channels channels = fn::Channels::Last;
  double norm = 2;  ///< p of (sum x^p)^(1/p)
};

/// avg_pool with the window and strides that give output_size.
Model adaptive_avg_pool(const Model& x, AdaptivePoolOptions opts = {},
                        SourceLocation where = SourceLocation::current());
/// max_pool with the window and strides that give output_size.
Model adaptive_max_pool(const Model& x, AdaptivePoolOptions opts = {},
                        SourceLocation where = SourceLocation::current());
/// lp_pool with the window and strides that give output_size.
Model adaptive_lp_pool(const Model& x, AdaptiveLpPoolOptions opts = {},
                       SourceLocation where = SourceLocation::current());

/// Options of global_avg_pool and global_max_pool.
struct GlobalPoolOptions {
  std::string name = {};
  bool keep_axes = false;  ///< keep the spatial axes as size 1
  fn::Channels channels = fn::Channels::Last;
};
/// Options of global_lp_pool.
struct GlobalLpPoolOptions {
  std::string name = {};
  bool keep_axes = false;  ///< keep the spatial axes as size 1
  fn::Channels channels = fn::Channels::Last;
  double norm = 2;  ///< p of (sum x^p)^(1/p)
};

/// The mean over every spatial axis: {N, C} (or with size-1 spatial axes when keep_axes).
Model global_avg_pool(const Model& x, GlobalPoolOptions opts = {},
                      SourceLocation where = SourceLocation::current());
/// The maximum over every spatial axis.
Model global_max_pool(const Model& x, GlobalPoolOptions opts = {},
                      SourceLocation where = SourceLocation::current());
/// (sum over every spatial axis of x^norm)^(1/norm).
Model global_lp_pool(const Model& x, GlobalLpPoolOptions opts = {},
                     SourceLocation where = SourceLocation::current());

/// Options of blur_pool.
struct BlurPoolOptions {
  std::string name = {};
  fn::Channels channels = fn::Channels::Last;
};
/// Each channel of a rank-4 input blurred with the 3x3 binomial filter (same shape out).
Model blur_pool(const Model& x, BlurPoolOptions opts = {},
                SourceLocation where = SourceLocation::current());

}  // namespace axon
