// The direct oneDNN convolution gives ATen's oneDNN convolution's bits, on the geometries a
// cone recompute meets (small windows of every kind of layer) and on whole layers.
#include "ops/dnnl_conv.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <random>

#include "ops/depthwise_window.h"

namespace fg::ops {
namespace {

bool same_bits(const at::Tensor& a, const at::Tensor& b) {
  return a.sizes().equals(b.sizes()) && a.is_contiguous() && b.is_contiguous() &&
         std::memcmp(a.data_ptr(), b.data_ptr(), static_cast<size_t>(a.numel()) * 4) == 0;
}

struct Geometry {
  int64_t cin, h, w, cout, kernel, stride, pad, dilation, groups;
  bool bias;
};

void expect_same_as_aten(const Geometry& g, uint64_t seed) {
  at::manual_seed(static_cast<int64_t>(seed));
  at::Tensor x = at::randn({1, g.cin, g.h, g.w});
  at::Tensor w = at::randn({g.cout, g.cin / g.groups, g.kernel, g.kernel});
  at::Tensor b = g.bias ? at::randn({g.cout}) : at::Tensor();
  const std::vector<int64_t> strides{g.stride, g.stride}, pads{g.pad, g.pad},
      dils{g.dilation, g.dilation};
  at::Tensor want = at::mkldnn_convolution(x, w, b, pads, strides, dils, g.groups);
  std::optional<at::Tensor> got = dnnl_conv2d(x, w, b, strides, pads, dils, g.groups);
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(same_bits(want, *got))
      << g.cin << "x" << g.h << "x" << g.w << " -> " << g.cout << " k" << g.kernel << " s"
      << g.stride << " p" << g.pad << " d" << g.dilation << " g" << g.groups;
  // A second call reuses the primitive and the packed weight: the same bits.
  std::optional<at::Tensor> again = dnnl_conv2d(x, w, b, strides, pads, dils, g.groups);
  EXPECT_TRUE(same_bits(want, *again));
}

TEST(DnnlConv, SameBitsAsATenOnLayersAndWindows) {
  const std::vector<Geometry> cases{
      {96, 5, 5, 96, 3, 1, 1, 1, 96, true},       // depthwise window
      {16, 3, 8, 16, 3, 1, 1, 1, 16, false},      // a few depthwise groups
      {144, 9, 9, 24, 1, 1, 0, 1, 1, true},       // 1x1 projection window
      {24, 9, 9, 144, 1, 1, 0, 1, 1, false},      // 1x1 expansion window
      {256, 7, 7, 256, 3, 1, 1, 1, 1, true},      // 3x3 late layer
      {512, 11, 28, 128, 1, 1, 0, 1, 1, true},    // wide 1x1, 11 rows
      {64, 28, 28, 64, 3, 2, 1, 1, 1, true},      // strided 3x3
      {3, 64, 64, 32, 3, 2, 1, 1, 1, true},       // stem
      {576, 14, 14, 576, 3, 2, 1, 1, 576, true},  // strided depthwise
      {32, 12, 12, 64, 3, 1, 2, 2, 4, true},      // dilated, grouped
      {8, 6, 9, 12, 5, 3, 2, 1, 2, false},        // 5x5, stride 3, grouped
  };
  uint64_t seed = 1;
  for (const Geometry& g : cases) expect_same_as_aten(g, seed++);
}

TEST(DnnlConv, SameBitsAsATenAtRandomGeometries) {
  std::mt19937_64 rng(7);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  for (int i = 0; i < 40; ++i) {
    Geometry g{};
    g.groups = pick(0, 2) == 0 ? 1 : pick(1, 4);
    g.cin = g.groups * pick(1, 24);
    g.cout = g.groups * pick(1, 24);
    if (pick(0, 3) == 0) g.groups = g.cin = g.cout = pick(1, 64);  // depthwise
    g.kernel = pick(1, 5);
    g.stride = pick(1, 3);
    g.dilation = pick(1, 2);
    g.pad = pick(0, g.kernel / 2);
    const int64_t span = g.dilation * (g.kernel - 1) + 1;
    g.h = pick(std::max<int64_t>(1, span - 2 * g.pad), 20);
    g.w = pick(std::max<int64_t>(1, span - 2 * g.pad), 20);
    g.bias = pick(0, 1) == 1;
    expect_same_as_aten(g, 100 + static_cast<uint64_t>(i));
  }
}

// faultgraph's depthwise window kernel gives the bits of oneDNN's whole depthwise layer
// (what the layer computes at those positions), on windows at the edges (their padding
// given as zeros in the window's input, as a cone recompute pads it) and inside, at the
// strides, dilations, kernels and channel counts of MobileNetV2-like layers.
TEST(DnnlConv, DepthwiseWindowsGiveTheWholeLayersBits) {
  struct Layer {
    int64_t channels, size, kernel, stride, dilation;
    bool bias;
  };
  const std::vector<Layer> layers{{32, 112, 3, 1, 1, false}, {144, 56, 3, 2, 1, false},
                                  {96, 14, 3, 1, 1, true},   {960, 7, 3, 1, 1, false},
                                  {40, 20, 5, 2, 1, true},   {24, 17, 3, 1, 2, false}};
  uint64_t seed = 100;
  for (const Layer& l : layers) {
    at::manual_seed(static_cast<int64_t>(seed++));
    const int64_t pad = (l.kernel - 1) * l.dilation / 2;
    at::Tensor x = at::randn({1, l.channels, l.size, l.size});
    x.clamp_min_(0);  // after a ReLU6: many exact zeros
    at::Tensor w = at::randn({l.channels, 1, l.kernel, l.kernel});
    at::Tensor b = l.bias ? at::randn({l.channels}) : at::Tensor();
    const std::vector<int64_t> strides{l.stride, l.stride}, pads{pad, pad},
        dils{l.dilation, l.dilation};
    std::optional<at::Tensor> whole = dnnl_conv2d(x, w, b, strides, pads, dils, l.channels);
    ASSERT_TRUE(whole.has_value());
    const at::Tensor padded = at::constant_pad_nd(x, {pad, pad, pad, pad}, 0.0);
    const int64_t out = whole->size(2), span = (l.kernel - 1) * l.dilation + 1;
    // Output boxes: a corner, the far corner, the middle, a whole row, and a block of up to
    // 11 x 17 (the vector kernel's 8-row blocks and a second vector of columns); channels
    // c0..c1.
    const std::vector<std::array<int64_t, 6>> boxes{
        {0, 3, 0, 3, 0, 1},
        {out - 2, out, out - 4, out, l.channels - 2, l.channels},
        {out / 3, out / 3 + 5, out / 4, out / 4 + 6, l.channels / 2, l.channels / 2 + 7},
        {out / 2, out / 2 + 1, 0, out, 3, 4},
        {0, std::min<int64_t>(out, 11), 0, std::min<int64_t>(out, 17), 1, 4}};
    for (const auto& [r0, r1, c0, c1, g0, g1] : boxes) {
      const int64_t rows = r1 - r0, cols = c1 - c0;
      const at::Tensor in = padded.narrow(1, g0, g1 - g0)
                                .narrow(2, r0 * l.stride, (rows - 1) * l.stride + span)
                                .narrow(3, c0 * l.stride, (cols - 1) * l.stride + span)
                                .contiguous();
      const at::Tensor wg = w.narrow(0, g0, g1 - g0);
      const at::Tensor bg = l.bias ? b.narrow(0, g0, g1 - g0) : at::Tensor();
      ASSERT_TRUE(depthwise_window_applies(in, wg, bg, g1 - g0));
      const at::Tensor got = depthwise_window(in, wg, bg, strides, dils);
      const at::Tensor want =
          whole->narrow(1, g0, g1 - g0).narrow(2, r0, rows).narrow(3, c0, cols).contiguous();
      EXPECT_TRUE(same_bits(got, want))
          << l.channels << " channels, " << l.size << "^2, k" << l.kernel << " s" << l.stride
          << " d" << l.dilation << ", rows " << r0 << ".." << r1 << ", cols " << c0 << ".." << c1;
    }
  }
}

TEST(DnnlConv, WeightChangedInPlaceIsPackedAgain) {
  at::Tensor x = at::randn({1, 8, 6, 6});
  at::Tensor w = at::randn({8, 8, 3, 3});
  const std::vector<int64_t> one{1, 1};
  at::Tensor before = *dnnl_conv2d(x, w, at::Tensor(), one, one, one, 1);
  w.mul_(2.0);  // an optimiser's step: the same storage, a new version
  at::Tensor after = *dnnl_conv2d(x, w, at::Tensor(), one, one, one, 1);
  EXPECT_TRUE(same_bits(after, at::mkldnn_convolution(x, w, at::Tensor(), one, one, one, 1)));
  EXPECT_FALSE(same_bits(before, after));
}

TEST(DnnlConv, LeavesToATenWhatItDoesNotCover) {
  const std::vector<int64_t> one{1, 1}, zero{0, 0};
  at::Tensor w = at::randn({4, 4, 3, 3});
  EXPECT_FALSE(dnnl_conv2d(at::randn({1, 4, 5, 5}, at::kDouble), w.to(at::kDouble), at::Tensor(),
                           one, one, one, 1));
  EXPECT_FALSE(dnnl_conv2d(at::randn({1, 4, 2, 2}), w, at::Tensor(), one, zero, one, 1))
      << "kernel larger than the padded input";
  at::Tensor trained = w.clone().requires_grad_(true);
  EXPECT_FALSE(dnnl_conv2d(at::randn({1, 4, 5, 5}), trained, at::Tensor(), one, one, one, 1))
      << "gradients go through ATen";
}

}  // namespace
}  // namespace fg::ops
