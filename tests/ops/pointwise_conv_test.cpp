// faultgraph's 1x1 convolution kernel: PyTorch's values within rounding, and the same bits
// for the whole layer and any window of it, at any batch, thread count and kernel (AVX-512
// or portable).
#include "ops/pointwise_conv.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "test_util.h"

namespace fg::ops {
namespace {

bool bits_equal(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor ac = a.contiguous(), bc = b.contiguous();
  return a.sizes().equals(b.sizes()) &&
         std::memcmp(ac.data_ptr(), bc.data_ptr(), static_cast<size_t>(a.numel()) * 4) == 0;
}

struct Layer {
  int64_t n, cin, h, w, cout;
  bool bias;
};

// Odd channel counts (not multiples of the 6-row tiles), positions that fill no 64-wide
// tile, one position, a wide input.
const Layer kLayers[] = {{1, 16, 7, 7, 96, true},     {3, 5, 9, 11, 7, false},
                         {2, 33, 1, 1, 13, true},     {1, 320, 7, 7, 1280, true},
                         {1, 24, 56, 56, 144, false}, {2, 1, 3, 17, 5, true},
                         {1, 512, 4, 5, 2048, true}};

// A layer's input, weight (scaled so that outputs stay near 1) and bias, from a seed.
struct Tensors {
  at::Tensor x, w, b;
};
Tensors make(const Layer& l, int64_t seed) {
  at::manual_seed(seed);
  Tensors t;
  t.x = at::randn({l.n, l.cin, l.h, l.w});
  t.w = at::randn({l.cout, l.cin, 1, 1}) / std::sqrt(static_cast<double>(l.cin));
  t.b = l.bias ? at::randn({l.cout}) : at::Tensor();
  return t;
}

TEST(PointwiseConv, MatchesPyTorchWithinRounding) {
  for (const Layer& l : kLayers) {
    const auto [x, w, b] = make(l, l.cin * 131 + l.cout);
    ASSERT_TRUE(pointwise_conv_applies(x, w, b));
    at::Tensor want =
        at::conv2d(x.to(at::kDouble), w.to(at::kDouble), b.defined() ? b.to(at::kDouble) : b)
            .to(at::kFloat);
    EXPECT_LE(test::relative_error(pointwise_conv(x, w, b), want), 1e-5)
        << l.cin << " -> " << l.cout << " at " << l.h << " x " << l.w;
  }
}

// The kernels (positions or output channels across the lanes, AVX2, portable C++) give the
// same bits, so that the choice by shape or CPU never shows.
TEST(PointwiseConv, EveryKernelGivesTheSameBits) {
  for (const Layer& l : kLayers) {
    const auto [x, w, b] = make(l, l.h * 7 + l.cout);
    const at::Tensor best = pointwise_conv(x, w, b);
    for (PointwiseKernel k :
         {PointwiseKernel::kPositions, PointwiseKernel::kChannels, PointwiseKernel::kAvx2,
          PointwiseKernel::kAvx2Channels, PointwiseKernel::kPortable}) {
      EXPECT_TRUE(bits_equal(best, pointwise_conv(x, w, b, k)))
          << "kernel " << static_cast<int>(k) << ": " << l.cin << " -> " << l.cout << " at " << l.h
          << " x " << l.w;
    }
  }
}

// The tiled copy of a weight that the channel kernel keeps follows the weight when it is
// changed in place.
TEST(PointwiseConv, WeightChangedInPlaceIsTiledAgain) {
  at::manual_seed(8);
  at::Tensor x = at::randn({1, 40, 3, 3});
  at::Tensor w = at::randn({48, 40, 1, 1});
  const at::Tensor before = pointwise_conv(x, w, {}, PointwiseKernel::kChannels);
  w.mul_(2);
  const at::Tensor after = pointwise_conv(x, w, {}, PointwiseKernel::kChannels);
  EXPECT_TRUE(bits_equal(after, pointwise_conv(x, w, {}, PointwiseKernel::kPositions)));
  EXPECT_FALSE(bits_equal(before, after));
}

// Any box of positions and output channels of any sample, alone, gives the whole layer's
// bits there (what lets a cone recompute window every 1x1 layer without checks).
TEST(PointwiseConv, WindowsAndSamplesGiveTheWholeLayersBits) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  auto pick = [&](int64_t n) { return at::randint(n, {1}, gen).item<int64_t>(); };
  for (const Layer& l : kLayers) {
    const auto [x, w, b] = make(l, l.w * 5 + l.cin);
    const at::Tensor whole = pointwise_conv(x, w, b);
    for (int i = 0; i < 20; ++i) {
      const int64_t s = pick(l.n), r0 = pick(l.h), c0 = pick(l.w), o0 = pick(l.cout);
      const int64_t rows = 1 + pick(l.h - r0), cols = 1 + pick(l.w - c0);
      const int64_t outs = 1 + pick(l.cout - o0);
      at::Tensor xw = x.narrow(0, s, 1).narrow(2, r0, rows).narrow(3, c0, cols);
      at::Tensor got =
          pointwise_conv(xw, w.narrow(0, o0, outs), b.defined() ? b.narrow(0, o0, outs) : b);
      at::Tensor want =
          whole.narrow(0, s, 1).narrow(1, o0, outs).narrow(2, r0, rows).narrow(3, c0, cols);
      ASSERT_TRUE(bits_equal(got, want))
          << l.cin << " -> " << l.cout << " window " << i << ": sample " << s << " rows " << r0
          << "+" << rows << " cols " << c0 << "+" << cols << " channels " << o0 << "+" << outs;
    }
  }
}

TEST(PointwiseConv, ThreadCountDoesNotChangeTheBits) {
  at::manual_seed(4);
  at::Tensor x = at::randn({2, 96, 28, 28});
  at::Tensor w = at::randn({160, 96, 1, 1});
  at::Tensor b = at::randn({160});
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const at::Tensor one = pointwise_conv(x, w, b);
  at::set_num_threads(2);
  const at::Tensor two = pointwise_conv(x, w, b);
  at::set_num_threads(threads);
  EXPECT_TRUE(bits_equal(one, two));
}

// im2col_conv is the 1x1 kernel on the im2col matrix: ATen's unfold of the input (padded
// beforehand, so that asymmetric pads work alike) through pointwise_conv gives its bits. The
// geometries cover the shifted-run copy of "same" convolutions at stride 1 (square and 1 x k
// kernels, dilation, pads at one end only) and the row copies of the others (strides, a
// window's unpadded input, fewer or more output columns than input columns).
TEST(Im2colConv, IsThePointwiseKernelOnTheUnfoldedInput) {
  struct Geometry {
    int64_t cin, h, w, cout, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow;
  };
  const Geometry geometries[] = {
      {5, 7, 7, 6, 3, 3, 1, 1, 1, 1, 1, 1, 7, 7},     {3, 8, 8, 4, 1, 3, 1, 1, 1, 1, 0, 1, 8, 8},
      {3, 8, 8, 4, 3, 1, 1, 1, 1, 1, 1, 0, 8, 8},     {2, 6, 9, 3, 5, 5, 1, 1, 1, 1, 2, 2, 6, 9},
      {4, 7, 7, 5, 3, 3, 1, 1, 2, 2, 2, 2, 7, 7},     {3, 5, 6, 2, 2, 2, 1, 1, 1, 1, 0, 0, 5, 6},
      {3, 5, 6, 2, 2, 2, 1, 1, 1, 1, 1, 1, 5, 6},     {2, 4, 4, 3, 3, 3, 1, 1, 1, 1, 3, 3, 4, 4},
      {4, 14, 14, 3, 3, 3, 2, 2, 1, 1, 1, 1, 7, 7},   {3, 9, 9, 4, 3, 3, 1, 1, 1, 1, 0, 0, 7, 7},
      {3, 9, 11, 2, 3, 3, 1, 2, 1, 1, 1, 1, 9, 6},    {2, 5, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1, 3, 4},
      {6, 17, 17, 5, 7, 1, 1, 1, 1, 1, 3, 0, 17, 17}, {1, 1, 1, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}};
  int64_t seed = 40;
  for (const Geometry& g : geometries) {
    at::manual_seed(++seed);
    const at::Tensor x = at::randn({2, g.cin, g.h, g.w});
    const at::Tensor w = at::randn({g.cout, g.cin, g.kh, g.kw});
    const at::Tensor b = at::randn({g.cout});
    const std::optional<at::Tensor> got =
        im2col_conv(x, w, b, {g.sh, g.sw}, {g.ph, g.pw}, {g.dh, g.dw}, g.oh, g.ow);
    ASSERT_TRUE(got.has_value());
    // The input as the output positions read it: pad_begin before, and after it up to the
    // last position read (a negative pad cuts what none reads).
    const int64_t end_h = (g.oh - 1) * g.sh + (g.kh - 1) * g.dh + 1 - g.h - g.ph;
    const int64_t end_w = (g.ow - 1) * g.sw + (g.kw - 1) * g.dw + 1 - g.w - g.pw;
    const at::Tensor padded = at::constant_pad_nd(x, {g.pw, end_w, g.ph, end_h}, 0.0);
    const at::Tensor cols = at::im2col(padded, {g.kh, g.kw}, {g.dh, g.dw}, {0, 0}, {g.sh, g.sw})
                                .reshape({2, g.cin * g.kh * g.kw, g.oh, g.ow});
    const at::Tensor want = pointwise_conv(cols, w.reshape({g.cout, -1, 1, 1}), b);
    EXPECT_TRUE(bits_equal(*got, want))
        << g.cin << " x " << g.h << " x " << g.w << ", kernel " << g.kh << " x " << g.kw
        << ", stride " << g.sh << " x " << g.sw << ", dilation " << g.dh << " x " << g.dw
        << ", pad " << g.ph << " x " << g.pw << " -> " << g.oh << " x " << g.ow;
  }
}

// Windows of several trials side by side in one GEMM (a batch of a campaign's trials at one
// layer): each gets the bits it gets alone, whatever the windows beside it and their number
// (which moves the kernel between the channel and the position tiles).
TEST(PointwiseConv, ManyWindowsTogetherGiveEachItsOwnBits) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(9);
  auto pick = [&](int64_t n) { return at::randint(n, {1}, gen).item<int64_t>(); };
  for (const Layer& l : kLayers) {
    const auto [x, w, b] = make(l, l.h * 7 + l.cout);
    for (const int count : {1, 2, 5, 13}) {
      std::vector<at::Tensor> xs;
      for (int i = 0; i < count; ++i) {
        const int64_t s = pick(l.n), r0 = pick(l.h), c0 = pick(l.w);
        xs.push_back(
            x.narrow(0, s, 1).narrow(2, r0, 1 + pick(l.h - r0)).narrow(3, c0, 1 + pick(l.w - c0)));
      }
      const std::optional<std::vector<at::Tensor>> got = pointwise_conv_many(xs, w, b);
      ASSERT_TRUE(got.has_value());
      ASSERT_EQ(got->size(), xs.size());
      for (size_t i = 0; i < xs.size(); ++i) {
        EXPECT_TRUE(bits_equal((*got)[i], pointwise_conv(xs[i], w, b)))
            << l.cin << " -> " << l.cout << ", window " << i << " of " << count;
      }
    }
  }
  // A sample of two is not a window: declined, as are weights the kernel does not take.
  const auto [x, w, b] = make(kLayers[1], 1);
  EXPECT_FALSE(pointwise_conv_many({x}, w, b).has_value());
  EXPECT_FALSE(pointwise_conv_many({x.narrow(0, 0, 1)}, w.to(at::kDouble), b).has_value());
}

TEST(Im2colConv, ManyWindowsTogetherGiveEachItsOwnBits) {
  at::manual_seed(12);
  // A 3 x 3 layer (ResNet-50's 7 x 7 stage, few channels) and a strided, dilated 2 x 3 one.
  struct Case {
    int64_t cin, h, w, cout, kh, kw, s, d;
  };
  for (const Case& c : {Case{40, 9, 9, 70, 3, 3, 1, 1}, Case{6, 12, 14, 9, 2, 3, 2, 2}}) {
    const at::Tensor x = at::randn({1, c.cin, c.h, c.w});
    const at::Tensor w = at::randn({c.cout, c.cin, c.kh, c.kw});
    const at::Tensor b = at::randn({c.cout});
    std::vector<at::Tensor> xs;
    std::vector<std::pair<int64_t, int64_t>> out;
    const int64_t span_h = (c.kh - 1) * c.d + 1, span_w = (c.kw - 1) * c.d + 1;
    for (int64_t oh = 1; oh <= 3; ++oh) {
      for (int64_t ow = 1; ow <= 4; ++ow) {
        // The input that an oh x ow window at (oh - 1, ow - 1) reads, unpadded.
        const int64_t rows = (oh - 1) * c.s + span_h, cols = (ow - 1) * c.s + span_w;
        xs.push_back(x.narrow(2, oh - 1, rows).narrow(3, ow - 1, cols));
        out.emplace_back(oh, ow);
      }
    }
    const std::optional<std::vector<at::Tensor>> got =
        im2col_conv_many(xs, w, b, {c.s, c.s}, {c.d, c.d}, out);
    ASSERT_TRUE(got.has_value());
    ASSERT_EQ(got->size(), xs.size());
    for (size_t i = 0; i < xs.size(); ++i) {
      const std::optional<at::Tensor> alone =
          im2col_conv(xs[i], w, b, {c.s, c.s}, {0, 0}, {c.d, c.d}, out[i].first, out[i].second);
      ASSERT_TRUE(alone.has_value());
      EXPECT_TRUE(bits_equal((*got)[i], *alone)) << "window " << i << ", " << c.kh << " x " << c.kw;
    }
  }
}

TEST(PointwiseConv, LeavesOtherTensorsToTheConvolution) {
  at::Tensor x = at::randn({1, 4, 5, 5});
  EXPECT_FALSE(pointwise_conv_applies(x.to(at::kDouble), at::randn({3, 4, 1, 1}).to(at::kDouble),
                                      at::Tensor()));
  EXPECT_FALSE(pointwise_conv_applies(x, at::randn({3, 4, 3, 3}), at::Tensor()));
  EXPECT_FALSE(pointwise_conv_applies(x, at::randn({3, 2, 1, 1}), at::Tensor()));
  EXPECT_FALSE(pointwise_conv_applies(x, at::randn({3, 4, 1, 1}), at::randn({4})));
  at::Tensor wg = at::randn({3, 4, 1, 1}).requires_grad_();
  EXPECT_FALSE(pointwise_conv_applies(x, wg, at::Tensor()));
}

}  // namespace
}  // namespace fg::ops
