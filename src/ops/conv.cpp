// Conv: N-d convolution (1-d to 3-d) with groups (depthwise included), dilations, strides,
// explicit pads or auto_pad. 2-d 1x1 convolutions of group 1 without padding run
// faultgraph's own kernel (ops/pointwise_conv.h), whose windows are exact, and so do other
// 2-d convolutions of group 1 with at most 196 output positions, through im2col; the others
// go to oneDNN (or ATen's), symmetric pads as padding, asymmetric ones applied beforehand
// with a zero pad.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "ops/common.h"
#include "ops/depthwise_window.h"
#include "ops/dnnl_conv.h"
#include "ops/pointwise_conv.h"

namespace fg::ops {
namespace {
namespace conv_op {
// One row of a depthwise window: acc[i] += x[i * stride] * w, fused (see depthwise_window).
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"))) void depthwise_taps(
    const float* __restrict x, int64_t stride, float w, float* __restrict acc, int64_t n) {
  for (int64_t i = 0; i < n; ++i) acc[i] = std::fma(x[i * stride], w, acc[i]);
}

// A block of NR output rows by up to 16 columns (`mask`) of one channel of a 3x3 depthwise
// window on AVX-512, row stride SH, column stride SW: `src` at the block's first input row and
// column, `dst` at its first output, w[i * 3 + j] the taps broadcast. Each input row is
// loaded once (two vectors: the row's elements the block reads span up to 2 x 16 + 1) and
// its three column taps picked out by permutes, then fed to the (up to 3) output rows that
// read it; one accumulator per output row, so that their chains overlap. Input rows go in
// order, so each output element takes its taps in kernel order (rows outer, columns inner).
template <int NR, int SH, int SW>
__attribute__((target("avx512f"), always_inline)) inline void depthwise_block(
    const float* src, int64_t wd, const __m512* w, __m512 bias, float* dst, int64_t ow,
    __mmask16 mask, __mmask16 lo_mask, __mmask16 hi_mask, const __m512i* pick) {
  __m512 acc[NR];  // NOLINT(*-avoid-c-arrays): std::array drops __m512's alignment attribute
#pragma GCC unroll 8
  for (int q = 0; q < NR; ++q) acc[q] = bias;
  constexpr int kRows = (NR - 1) * SH + 3;
#pragma GCC unroll 32
  for (int t = 0; t < kRows; ++t) {
    const float* row = src + t * wd;
    const __m512 lo = _mm512_maskz_loadu_ps(lo_mask, row);
    const __m512 hi = hi_mask != 0 ? _mm512_maskz_loadu_ps(hi_mask, row + 16) : _mm512_setzero_ps();
    const __m512 x0 = _mm512_permutex2var_ps(lo, pick[0], hi);
    const __m512 x1 = _mm512_permutex2var_ps(lo, pick[1], hi);
    const __m512 x2 = _mm512_permutex2var_ps(lo, pick[2], hi);
#pragma GCC unroll 8
    for (int q = 0; q < NR; ++q) {
      const int i = t - q * SH;  // the kernel row by which input row t reaches output row q
      if (i < 0 || i > 2) continue;
      acc[q] = _mm512_fmadd_ps(x0, w[i * 3], acc[q]);
      acc[q] = _mm512_fmadd_ps(x1, w[i * 3 + 1], acc[q]);
      acc[q] = _mm512_fmadd_ps(x2, w[i * 3 + 2], acc[q]);
    }
  }
#pragma GCC unroll 8
  for (int q = 0; q < NR; ++q) _mm512_mask_storeu_ps(dst + q * ow, mask, acc[q]);
}

// A depthwise window's planes (N x G of them, each H x W, padded) for a 3x3 kernel on
// AVX-512, strides SH and SW (1 or 2), no dilation: 16 (or 15) output columns in one vector,
// up to 8 rows at once (depthwise_block), the same fused multiply-adds per element in the
// same order as depthwise_taps (the bias or +0, then kernel rows outer, columns inner), so
// the same bits. (depthwise_taps, called per tap and output row, ran windows of 10 columns
// through its scalar tail: MobileNetV2's depthwise windows took 174 us for 384 channels at
// 14 x 14.)
template <int SH, int SW>
__attribute__((target("avx512f"))) void depthwise_planes(const float* px, int64_t n, int64_t groups,
                                                         int64_t h, int64_t wd, const float* pw,
                                                         const float* pb, float* py, int64_t oh,
                                                         int64_t ow) {
  __m512i pick[3];  // NOLINT(*-avoid-c-arrays): lanes c <- element SW c + j of two vectors
  for (int j = 0; j < 3; ++j) {
    pick[j] = _mm512_add_epi32(
        _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                           _mm512_set1_epi32(SW)),
        _mm512_set1_epi32(j));
  }
  // Output columns per vector: 16, or 15 at stride 2 (whose 16 would read 33 elements).
  constexpr int64_t kCols = SW == 1 ? 16 : 15;
  for (int64_t c0 = 0; c0 < ow; c0 += kCols) {
    const int64_t cols = std::min<int64_t>(kCols, ow - c0);
    const auto mask = static_cast<__mmask16>((1U << cols) - 1);
    // The input elements a row of `cols` outputs reads: the first 16, then the rest.
    const int64_t span = SW * (cols - 1) + 3;
    const auto lo_mask = static_cast<__mmask16>(span >= 16 ? 0xffff : (1U << span) - 1);
    const auto hi_mask = static_cast<__mmask16>(span <= 16 ? 0 : (1U << (span - 16)) - 1);
    for (int64_t plane = 0; plane < n * groups; ++plane) {
      const float* src = px + plane * h * wd + c0 * SW;
      const float* taps = pw + (plane % groups) * 9;
      __m512 w[9];  // NOLINT(*-avoid-c-arrays)
      for (int k = 0; k < 9; ++k) w[k] = _mm512_set1_ps(taps[k]);
      const __m512 bias = _mm512_set1_ps(pb ? pb[plane % groups] : 0.0F);
      float* dst = py + plane * oh * ow + c0;
      int64_t r0 = 0;
      for (; r0 + 8 <= oh; r0 += 8) {
        depthwise_block<8, SH, SW>(src + r0 * SH * wd, wd, w, bias, dst + r0 * ow, ow, mask,
                                   lo_mask, hi_mask, pick);
      }
      const float* s = src + r0 * SH * wd;
      float* d = dst + r0 * ow;
      // clang-format off
      switch (oh - r0) {
#define FG_ROWS(k)                                                                   \
  case k:                                                                            \
    depthwise_block<k, SH, SW>(s, wd, w, bias, d, ow, mask, lo_mask, hi_mask, pick); \
    break;
        FG_ROWS(1) FG_ROWS(2) FG_ROWS(3) FG_ROWS(4) FG_ROWS(5) FG_ROWS(6) FG_ROWS(7)
#undef FG_ROWS
        default: break;
      }
      // clang-format on
    }
  }
}

}  // namespace conv_op
}  // namespace

// See ops/depthwise_window.h.
bool depthwise_vector_geometry(const std::vector<int64_t>& strides,
                               const std::vector<int64_t>& dilations) {
  return strides.size() == 2 && dilations.size() == 2 && (strides[0] == 1 || strides[0] == 2) &&
         (strides[1] == 1 || strides[1] == 2) && dilations[0] == 1 && dilations[1] == 1 &&
         has_avx512();
}

// See ops/depthwise_window.h.
at::Tensor depthwise_window(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias,
                            const std::vector<int64_t>& strides,
                            const std::vector<int64_t>& dilations) {
  const int64_t n = x.size(0), groups = x.size(1), h = x.size(2), wd = x.size(3);
  const int64_t kh = w.size(2), kw = w.size(3);
  const int64_t sh = strides[0], sw = strides[1], dh = dilations[0], dw = dilations[1];
  const int64_t oh = (h - (kh - 1) * dh - 1) / sh + 1, ow = (wd - (kw - 1) * dw - 1) / sw + 1;
  at::Tensor y =
      at::empty({n, groups, std::max<int64_t>(oh, 0), std::max<int64_t>(ow, 0)}, x.options());
  if (oh <= 0 || ow <= 0) return y;
  const at::Tensor wc = w.contiguous();
  const at::Tensor bc = bias.defined() ? bias.contiguous() : bias;
  const float* px = x.data_ptr<float>();
  const float* pw = wc.data_ptr<float>();
  const float* pb = bc.defined() ? bc.data_ptr<float>() : nullptr;
  float* py = y.data_ptr<float>();
  if (depthwise_vector_geometry(strides, dilations) && kh == 3 && kw == 3) {
    if (sh == 1 && sw == 1) {
      conv_op::depthwise_planes<1, 1>(px, n, groups, h, wd, pw, pb, py, oh, ow);
    } else if (sh == 2 && sw == 2) {
      conv_op::depthwise_planes<2, 2>(px, n, groups, h, wd, pw, pb, py, oh, ow);
    } else if (sh == 1) {
      conv_op::depthwise_planes<1, 2>(px, n, groups, h, wd, pw, pb, py, oh, ow);
    } else {
      conv_op::depthwise_planes<2, 1>(px, n, groups, h, wd, pw, pb, py, oh, ow);
    }
    return y;
  }
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t g = 0; g < groups; ++g) {
      const float* plane = px + (b * groups + g) * h * wd;
      const float* taps = pw + g * kh * kw;
      for (int64_t r = 0; r < oh; ++r) {
        float* acc = py + ((b * groups + g) * oh + r) * ow;
        std::fill(acc, acc + ow, pb ? pb[g] : 0.0F);
        for (int64_t i = 0; i < kh; ++i) {
          const float* row = plane + (r * sh + i * dh) * wd;
          for (int64_t j = 0; j < kw; ++j)
            conv_op::depthwise_taps(row + j * dw, sw, taps[i * kw + j], acc, ow);
        }
      }
    }
  }
  return y;
}

bool depthwise_window_applies(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias,
                              int64_t groups) {
  const bool grads = at::GradMode::is_enabled() && (x.requires_grad() || w.requires_grad() ||
                                                    (bias.defined() && bias.requires_grad()));
  return !grads && x.scalar_type() == at::kFloat && w.scalar_type() == at::kFloat &&
         (!bias.defined() || bias.scalar_type() == at::kFloat) && x.dim() == 4 && w.dim() == 4 &&
         x.is_contiguous() && x.size(1) == groups && w.size(0) == groups && w.size(1) == 1;
}

namespace {
namespace conv_op {

struct ConvParams {
  Window window;
  int64_t group;
};

ConvParams parse(const OpContext& ctx) {
  const TensorInfo& x = ctx.in[0];
  const TensorInfo& w = ctx.in[1];
  FG_CHECK(x.rank_known && x.rank() >= 3 && x.rank() <= 5, ShapeError, ctx.where(),
           ": input must be N x C x spatial (rank 3 to 5)");
  input_with_rank(ctx, 1, x.rank());
  Shape spatial(x.shape.begin() + 2, x.shape.end());
  std::optional<std::vector<int64_t>> kernel;
  if (!ctx.attrs().has("kernel_shape")) {
    FG_CHECK(w.rank_known, ShapeError, ctx.where(), ": weight shape unknown and no kernel_shape");
    kernel = std::vector<int64_t>(w.shape.begin() + 2, w.shape.end());
  }
  ConvParams p{parse_window(ctx, spatial, kernel), ctx.attrs().get_int("group", 1)};
  FG_CHECK(p.group >= 1, ModelFormatError, ctx.where(), ": group must be >= 1");
  if (x.shape[1] >= 0 && w.rank_known && w.shape[1] >= 0) {
    FG_CHECK(x.shape[1] == w.shape[1] * p.group, ShapeError, ctx.where(), ": input has ",
             x.shape[1], " channels but the weight expects ", w.shape[1], " x group ", p.group);
  }
  if (w.rank_known && w.shape[0] >= 0) {
    FG_CHECK(w.shape[0] % p.group == 0, ShapeError, ctx.where(), ": ", w.shape[0],
             " output channels are not divisible by group ", p.group);
    if (ctx.has_input(2) && ctx.in[2].rank_known) {
      FG_CHECK(
          ctx.in[2].rank() == 1 && (ctx.in[2].shape[0] == w.shape[0] || ctx.in[2].shape[0] < 0),
          ShapeError, ctx.where(), ": bias must have ", w.shape[0], " elements");
    }
  }
  return p;
}

std::vector<TensorInfo> infer(const OpContext& ctx) {
  ConvParams p = parse(ctx);
  const TensorInfo& x = ctx.in[0];
  Shape out{x.shape[0], ctx.in[1].rank_known ? ctx.in[1].shape[0] : kUnknownDim};
  Shape sp = window_output(ctx, p.window, Shape(x.shape.begin() + 2, x.shape.end()));
  out.insert(out.end(), sp.begin(), sp.end());
  return {make_info(x.dtype, out)};
}

// One convolution of 1 to 3 spatial dims through ATen (the kernel and windowed recompute).
at::Tensor convolve(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias,
                    const Window& win, const std::vector<int64_t>& padding, int64_t groups) {
  switch (win.kernel.size()) {
    case 2:
      return at::conv2d(x, w, bias, win.strides, padding, win.dilations, groups);
    case 1:
      return at::conv1d(x, w, bias, win.strides, padding, win.dilations, groups);
    default:
      return at::conv3d(x, w, bias, win.strides, padding, win.dilations, groups);
  }
}

bool use_mkldnn(at::ScalarType type, const Window& win) {
  return type == at::kFloat && win.kernel.size() == 2 && at::hasMKLDNN() &&
         at::globalContext().userEnabledMkldnn();
}

// A convolution, whole or a window: oneDNN whatever its size. ATen picks im2col + GEMM for
// small inputs, which sums in another order than the whole layer's oneDNN kernel; through
// oneDNN most layers' windows give the whole layer's bits (the executor checks that, before
// it relies on it: Executor::windows_match, and per window shape). 2-d float convolutions
// call oneDNN directly (dnnl_conv2d: the primitive ATen would run, with the weight kept in
// its blocked layout); the others, and those with gradients, go through ATen.
at::Tensor window_convolve(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias,
                           const Window& win, const std::vector<int64_t>& padding, int64_t groups) {
  if (use_mkldnn(x.scalar_type(), win)) {
    if (std::optional<at::Tensor> y =
            dnnl_conv2d(x, w, bias, win.strides, padding, win.dilations, groups))
      return *y;
    return at::mkldnn_convolution(x.contiguous(), w.contiguous(),
                                  bias.defined() ? bias.contiguous() : bias, padding, win.strides,
                                  win.dilations, groups);
  }
  return convolve(x.contiguous(), w, bias, win, padding, groups);
}

// A 1x1 convolution of group 1 without padding, 2-d: faultgraph's own kernel computes it
// (pointwise_conv: the same sums for the whole layer and any window of it) where its
// tensors allow (float, no gradients).
bool pointwise_geometry(const ConvParams& p) {
  if (p.group != 1 || p.window.kernel.size() != 2) return false;
  for (size_t j = 0; j < 2; ++j) {
    if (p.window.kernel[j] != 1 || p.window.pad_begin[j] != 0 || p.window.pad_end[j] != 0)
      return false;
  }
  return true;
}

// The box of the input that window `want` of a 1x1 convolution reads (all `channels`).
Box pointwise_input(const ConvParams& p, const Box& want, int64_t channels) {
  Box ib = want;
  ib.lo[1] = 0;
  ib.hi[1] = channels;
  for (size_t j = 0; j < 2; ++j) {
    ib.lo[2 + j] = want.lo[2 + j] * p.window.strides[j];
    ib.hi[2 + j] = (want.hi[2 + j] - 1) * p.window.strides[j] + 1;
  }
  return ib;
}

// The input positions a strided 1x1 convolution reads (position i reads i x stride).
at::Tensor strided_positions(const at::Tensor& x, const Window& w) {
  at::Tensor s = x;
  for (size_t j = 0; j < 2; ++j) {
    const auto d = static_cast<int64_t>(2 + j);
    if (w.strides[j] != 1) s = s.slice(d, 0, s.size(d), w.strides[j]);
  }
  return s;
}

// Output positions per sample up to which a 2-d convolution of group 1 (other than those
// pointwise_geometry takes) runs as im2col + faultgraph's 1x1 kernel (im2col_conv).
// Measured at batch 1 on 1 thread (bench/conv_gemm_bench), ResNet-50's and InceptionV3's
// layers with 7 x 7 and 8 x 8 outputs: 1.11-1.30x oneDNN's speed with weights cycling
// through 96 MB, as a campaign meets them (138-170 GFLOP/s against 125-141), 0.93-1.14x
// with one weight called again and again; their 14 x 14 and 17 x 17 layers 0.78-0.93x.
// Up to 196 (ResNet-50's 14 x 14 layers) since: on a Zen 5 core those run 0.90x oneDNN's
// speed hot and 1.0x cold, and in a campaign their whole layers ran as fast as on oneDNN
// (187 against 184 GFLOP/s) while their windows, now exact (no rounded sizes, no checks),
// went from 39-125 to 57-161 GFLOP/s: ResNet-50 `cone` 92 -> 104-105 trials/s on 1 thread
// (1,000 trials). Past 196 (28 x 28, 17 x 17) nothing changed beyond noise (ResNet-50
// 105-110, InceptionV3 67-73 trials/s against 64-72), and whole layers there run 0.85-0.9x
// oneDNN's speed, so they stay on oneDNN.
constexpr int64_t kGemmMaxPositions = 196;

// Whether a convolution runs as im2col_conv: group 1, 2-d, not a 1x1 without padding, a float
// input of known spatial size with at most kGemmMaxPositions output positions. The choice
// depends on the per-sample shape only, so every batch size gets the same sums.
bool gemm_geometry(const OpContext& ctx, const ConvParams& p) {
  if (p.group != 1 || p.window.kernel.size() != 2 || pointwise_geometry(p)) return false;
  const TensorInfo& x = ctx.in[0];
  if (x.dtype != DType::kFloat32 || !x.rank_known || x.shape[2] < 0 || x.shape[3] < 0) return false;
  const Shape out = window_output(ctx, p.window, Shape(x.shape.begin() + 2, x.shape.end()));
  if (out[0] <= 0 || out[1] <= 0 || out[0] * out[1] > kGemmMaxPositions) return false;
  // The im2col copy of a sample (its input channels x kernel x output positions) stays
  // within 16 MB: a hostile kernel far larger than its output is left to oneDNN.
  const double copy = static_cast<double>(x.shape[1]) * static_cast<double>(p.window.kernel[0]) *
                      static_cast<double>(p.window.kernel[1]) *
                      static_cast<double>(out[0] * out[1]);
  return x.shape[1] >= 0 && copy <= static_cast<double>(int64_t{1} << 22);
}

// Whether a depthwise layer's windows (2-d, float, one input and one output channel per
// group, 3x3) run on depthwise_window's vector kernel at their own size: no rounded sizes,
// as oneDNN needed (a kernel compiled per shape). The whole layer stays on oneDNN, which was
// twice as fast on the small layers (depthwise_bench: 19 against 40 us for 960 channels at
// 7 x 7, the padded copy included) and within 25% either way on the others, and keeps the
// forward pass as it was; the windows sum in the same
// order (DnnlConv.DepthwiseWindowsGiveTheWholeLayersBits), and the executor checks that
// before relying on it, as for every other inexact region. (Run whole on this kernel too,
// which made every window exact without checks, a MobileNetV2 campaign was no faster.)
bool vector_depthwise(const OpContext& ctx, const ConvParams& p) {
  const TensorInfo& x = ctx.in[0];
  const TensorInfo& w = ctx.in[1];
  if (p.window.kernel.size() != 2 || !w.shape_known() || w.dtype != DType::kFloat32 ||
      (ctx.has_input(2) && ctx.in[2].dtype != DType::kFloat32) ||
      !own_pool_kernel(x, p.window, infer(ctx)[0].shape))
    return false;
  return p.group == x.shape[1] && w.shape[0] == p.group && w.shape[1] == 1 &&
         p.window.kernel[0] == 3 && p.window.kernel[1] == 3 &&
         depthwise_vector_geometry(p.window.strides, p.window.dilations);
}

Kernel prepare(const OpContext& ctx) {
  ConvParams p = parse(ctx);
  bool symmetric = p.window.symmetric();
  const bool pointwise = pointwise_geometry(p);
  const bool gemm = gemm_geometry(ctx, p);
  return [p, symmetric, pointwise, gemm](KernelArgs& a) {
    const Window& w = p.window;
    if (pointwise) {
      const at::Tensor& bias = a.in.size() > 2 ? a.in[2] : at::Tensor();
      if (pointwise_conv_applies(a.in[0], a.in[1], bias)) {
        a.out[0] = pointwise_conv(strided_positions(a.in[0], w), a.in[1], bias);
        return;
      }
    }
    if (gemm) {
      const at::Tensor& x = a.in[0];
      int64_t len[2];
      for (size_t j = 0; j < 2; ++j) {
        const int64_t span = (w.kernel[j] - 1) * w.dilations[j] + 1;
        len[j] = (x.size(static_cast<int64_t>(2 + j)) + w.pad_begin[j] + w.pad_end[j] - span) /
                     w.strides[j] +
                 1;
      }
      if (std::optional<at::Tensor> y =
              im2col_conv(x, a.in[1], a.in.size() > 2 ? a.in[2] : at::Tensor(), w.strides,
                          w.pad_begin, w.dilations, len[0], len[1])) {
        a.out[0] = *y;
        return;
      }
    }
    at::Tensor x = symmetric ? a.in[0] : pad_spatial(a.in[0], w, 0.0);
    std::vector<int64_t> padding =
        symmetric ? w.pad_begin : std::vector<int64_t>(w.kernel.size(), 0);
    const at::Tensor& bias = a.in.size() > 2 ? a.in[2] : at::Tensor();
    a.out[0] = window_convolve(x, a.in[1], bias, w, padding, p.group);
  };
}

// A window's size rounded up to one of a few per octave (1 to 8, then 10, 12, 14, 16, 20,
// 24, ...: at most 25% more), kept inside the output: oneDNN builds and JIT-compiles a kernel
// for every new shape, and windows of every size made that a tenth of a MobileNetV2 campaign.
// The extra rows and columns are computed and cut off; the groups a window reads (grouped and
// depthwise convolutions) are rounded the same way.
int64_t rounded_length(int64_t len) {
  if (len <= 8) return len;
  const int64_t step = int64_t{1} << (63 - __builtin_clzll(static_cast<uint64_t>(len)) - 2);
  return (len + step - 1) / step * step;
}

std::pair<int64_t, int64_t> rounded_range(int64_t lo, int64_t hi, int64_t n) {
  const int64_t len = std::min(rounded_length(hi - lo), n);
  const int64_t end = std::min(n, lo + len);
  return {end - len, end};
}

Box rounded_box(const Box& want, const Shape& out, int64_t groups, int64_t cout_per_group) {
  Box b = want;
  if (groups > 1) {
    int64_t g0 = want.lo[1] / cout_per_group, g1 = (want.hi[1] - 1) / cout_per_group + 1;
    std::tie(g0, g1) = rounded_range(g0, g1, groups);
    b.lo[1] = std::min(b.lo[1], g0 * cout_per_group);
    b.hi[1] = std::max(b.hi[1], g1 * cout_per_group);
  }
  for (size_t d = 2; d < want.lo.size(); ++d)
    std::tie(b.lo[d], b.hi[d]) = rounded_range(want.lo[d], want.hi[d], out[d]);
  return b;
}

// Region::compute_many of the exact convolution kernels: where every window is of one sample
// and reads the same, unpatched weight and bias (a trial whose fault changed them reaches the
// whole layer, which it never windows), `many` computes them in one call on the output
// channels all of them want, given those channels' weight and bias; each window is then cut
// to its own channels. Else, or where `many` declines, each window on its own (`one`).
using Windows = std::vector<const std::vector<WindowInput>*>;
using OneWindow = std::function<at::Tensor(const std::vector<WindowInput>&, const Box&)>;
using ManyWindows = std::function<std::optional<std::vector<at::Tensor>>(
    const Windows&, const std::vector<Box>&, const at::Tensor&, const at::Tensor&)>;
std::vector<at::Tensor> windows_together(const Windows& in, const std::vector<Box>& want,
                                         const OneWindow& one, const ManyWindows& many) {
  bool shared = !in.empty();
  int64_t c0 = std::numeric_limits<int64_t>::max(), c1 = 0;
  for (size_t i = 0; shared && i < in.size(); ++i) {
    const std::vector<WindowInput>& x = *in[i];
    const std::vector<WindowInput>& x0 = *in[0];
    shared = want[i].hi[0] - want[i].lo[0] == 1 && !x[1].box && x[1].base.is_same(x0[1].base) &&
             x.size() == x0.size() &&
             (x.size() < 3 || (!x[2].box && x[2].base.is_same(x0[2].base)));
    c0 = std::min(c0, want[i].lo[1]);
    c1 = std::max(c1, want[i].hi[1]);
  }
  std::optional<std::vector<at::Tensor>> ys;
  if (shared) {
    const std::vector<WindowInput>& x0 = *in[0];
    const at::Tensor w = x0[1].base.narrow(0, c0, c1 - c0);
    const at::Tensor bias =
        x0.size() > 2 && x0[2].defined() ? x0[2].base.narrow(0, c0, c1 - c0) : at::Tensor();
    ys = many(in, want, w, bias);
  }
  if (!ys) {
    ys.emplace();
    for (size_t i = 0; i < in.size(); ++i) ys->push_back(one(*in[i], want[i]));
    return *ys;
  }
  for (size_t i = 0; i < in.size(); ++i) {
    at::Tensor& y = (*ys)[i];
    if (want[i].lo[1] != c0 || want[i].hi[1] != c1)
      y = y.narrow(1, want[i].lo[1] - c0, want[i].hi[1] - want[i].lo[1]);
  }
  return *ys;
}

// A change in a box of the input reaches the output positions whose windows read it, in the
// output channels of the groups it belongs to; a weight or bias change reaches everything.
std::optional<Region> region(const OpContext& ctx) {
  const TensorInfo& x = ctx.in[0];
  const TensorInfo& wt = ctx.in[1];
  if (!x.shape_known() || !wt.shape_known()) return std::nullopt;
  ConvParams p = parse(ctx);
  Shape out = infer(ctx)[0].shape;
  const int64_t cin_per_group = x.shape[1] / p.group, cout_per_group = wt.shape[0] / p.group;
  // The input positions after the last one the whole layer reads (its slack, less than a
  // stride), read by every window too: in PyTorch, oneDNN's 1x1 kernel summed windows of
  // ResNet-50's stride-2 layers like the whole layer with that row read and at no height
  // without it (faultgraph's single-position windows already matched).
  std::vector<int64_t> slack;
  for (size_t j = 0; j < p.window.kernel.size(); ++j) {
    const int64_t span = (p.window.kernel[j] - 1) * p.window.dilations[j] + 1;
    const int64_t read = (out[2 + j] - 1) * p.window.strides[j] + span;
    slack.push_back(
        std::max<int64_t>(0, x.shape[2 + j] + p.window.pad_begin[j] + p.window.pad_end[j] - read));
  }
  Region r;
  r.reach = [p, out, cin_per_group, cout_per_group](size_t i, const Box& b) -> std::optional<Box> {
    if (i != 0) return std::nullopt;
    Box o = Box::whole(out);
    o.lo[0] = b.lo[0];
    o.hi[0] = b.hi[0];
    o.lo[1] = b.lo[1] / cin_per_group * cout_per_group;
    o.hi[1] = ((b.hi[1] - 1) / cin_per_group + 1) * cout_per_group;
    for (size_t j = 0; j < p.window.kernel.size(); ++j) {
      auto [lo, hi] = window_reach(p.window, j, b.lo[2 + j], b.hi[2 + j], out[2 + j]);
      o.lo[2 + j] = lo;
      o.hi[2 + j] = hi;
    }
    return o;
  };
  r.compute = [p, out, cin_per_group, cout_per_group, slack](const std::vector<WindowInput>& in,
                                                             const Box& want) {
    // The window is computed at a rounded size (see rounded_box) and cut to `want` after.
    const Box ob = rounded_box(want, out, p.group, cout_per_group);
    // Whole groups: their input channels, their weights; the wanted channels cut after.
    int64_t g0 = ob.lo[1] / cout_per_group, g1 = (ob.hi[1] - 1) / cout_per_group + 1;
    at::Tensor x =
        window_input(in[0], p.window, ob, g0 * cin_per_group, g1 * cin_per_group, 0.0, slack);
    // Weights and biases are never patched: a change there reaches the whole output.
    at::Tensor w = in[1].base.narrow(0, g0 * cout_per_group, (g1 - g0) * cout_per_group);
    at::Tensor bias = in.size() > 2 && in[2].defined()
                          ? in[2].base.narrow(0, g0 * cout_per_group, (g1 - g0) * cout_per_group)
                          : at::Tensor();
    std::vector<int64_t> zero(p.window.kernel.size(), 0);
    at::Tensor y = p.window.kernel.size() == 2 && depthwise_window_applies(x, w, bias, g1 - g0)
                       ? depthwise_window(x, w, bias, p.window.strides, p.window.dilations)
                       : window_convolve(x, w, bias, p.window, zero, g1 - g0);
    y = y.narrow(1, want.lo[1] - g0 * cout_per_group, want.hi[1] - want.lo[1]);
    for (size_t j = 0; j < p.window.kernel.size(); ++j) {
      auto d = static_cast<int64_t>(2 + j);
      y = y.narrow(d, want.lo[2 + j] - ob.lo[2 + j], want.hi[2 + j] - want.lo[2 + j]);
    }
    return y;
  };
  if (vector_depthwise(ctx, p)) {
    r.compute = [p](const std::vector<WindowInput>& in, const Box& want) {
      const int64_t c0 = want.lo[1], c = want.hi[1] - want.lo[1];
      const at::Tensor x = window_input(in[0], p.window, want, c0, want.hi[1], 0.0).contiguous();
      const at::Tensor w = in[1].base.narrow(0, c0, c);
      const at::Tensor bias =
          in.size() > 2 && in[2].defined() ? in[2].base.narrow(0, c0, c) : at::Tensor();
      if (depthwise_window_applies(x, w, bias, c))
        return depthwise_window(x, w, bias, p.window.strides, p.window.dilations);
      Window unpadded = p.window;
      unpadded.pad_begin = unpadded.pad_end = std::vector<int64_t>(2, 0);
      return window_convolve(x, w, bias, unpadded, unpadded.pad_begin, c);
    };
    r.computed_shape = [](const Box& want) { return want.shape(); };
    r.exact = false;  // checked: the whole layer is oneDNN's
    return r;
  }
  if (gemm_geometry(ctx, p) && wt.dtype == DType::kFloat32) {
    // im2col_conv on the window's positions (its input read with the padding applied) and
    // output channels: the whole layer's sums, exact by construction.
    r.compute = [p](const std::vector<WindowInput>& in, const Box& want) {
      const at::Tensor x = window_input(in[0], p.window, want, 0, in[0].size(1), 0.0);
      const int64_t c0 = want.lo[1], c = want.hi[1] - want.lo[1];
      const at::Tensor w = in[1].base.narrow(0, c0, c);
      const at::Tensor bias =
          in.size() > 2 && in[2].defined() ? in[2].base.narrow(0, c0, c) : at::Tensor();
      const std::vector<int64_t> zero{0, 0};
      if (std::optional<at::Tensor> y =
              im2col_conv(x, w, bias, p.window.strides, zero, p.window.dilations,
                          want.hi[2] - want.lo[2], want.hi[3] - want.lo[3]))
        return *y;
      Window unpadded = p.window;
      unpadded.pad_begin = unpadded.pad_end = zero;
      return window_convolve(x, w, bias, unpadded, zero, 1);
    };
    r.compute_many = [p, one = r.compute](const Windows& in, const std::vector<Box>& want) {
      return windows_together(
          in, want, one,
          [&p](const Windows& ins, const std::vector<Box>& wants, const at::Tensor& w,
               const at::Tensor& bias) {
            std::vector<at::Tensor> xs;
            std::vector<std::pair<int64_t, int64_t>> sizes;
            for (size_t i = 0; i < ins.size(); ++i) {
              const WindowInput& x = (*ins[i])[0];
              xs.push_back(window_input(x, p.window, wants[i], 0, x.size(1), 0.0));
              sizes.emplace_back(wants[i].hi[2] - wants[i].lo[2], wants[i].hi[3] - wants[i].lo[3]);
            }
            return im2col_conv_many(xs, w, bias, p.window.strides, p.window.dilations, sizes);
          });
    };
    return r;
  }
  if (pointwise_geometry(p) && x.dtype == DType::kFloat32 && wt.dtype == DType::kFloat32) {
    // pointwise_conv on the window's positions and output channels: the whole layer's
    // kernel and sums, exact by construction (no rounded sizes, no checks).
    r.compute = [p](const std::vector<WindowInput>& in, const Box& want) {
      const at::Tensor x = in[0].part(pointwise_input(p, want, in[0].size(1)));
      const int64_t c0 = want.lo[1], c = want.hi[1] - want.lo[1];
      at::Tensor w = in[1].base.narrow(0, c0, c);
      at::Tensor bias =
          in.size() > 2 && in[2].defined() ? in[2].base.narrow(0, c0, c) : at::Tensor();
      // As the whole layer's kernel (prepare) chooses.
      if (pointwise_conv_applies(x, w, bias))
        return pointwise_conv(strided_positions(x, p.window), w, bias);
      return window_convolve(x.contiguous(), w, bias, p.window, {0, 0}, 1);
    };
    r.compute_many = [p, one = r.compute](const Windows& in, const std::vector<Box>& want) {
      return windows_together(
          in, want, one,
          [&p](const Windows& ins, const std::vector<Box>& wants, const at::Tensor& w,
               const at::Tensor& bias) {
            std::vector<at::Tensor> xs;
            for (size_t i = 0; i < ins.size(); ++i)
              xs.push_back(strided_positions(
                  (*ins[i])[0].part(pointwise_input(p, wants[i], (*ins[i])[0].size(1))), p.window));
            return pointwise_conv_many(xs, w, bias);
          });
    };
    return r;
  }
  r.computed_shape = [out, p, cout_per_group](const Box& want) {
    return rounded_box(want, out, p.group, cout_per_group).shape();
  };
  // A window may be summed in another order than the whole convolution (another backend or
  // blocking; oneDNN called directly differs for some 1x1 shapes: 512 -> 128 channels at
  // 28 x 28 on this machine's oneDNN sums every window but full-height ones differently).
  r.exact = false;
  return r;
}

int64_t flops(const OpContext& ctx, std::span<const TensorInfo> out) {
  const TensorInfo& w = ctx.in[1];
  if (!w.shape_known() || out[0].numel() < 0) return -1;
  int64_t per_output = 1;  // multiply-adds per output element: (C/g) x kernel
  for (size_t i = 1; i < w.shape.size(); ++i) per_output = saturating_mul(per_output, w.shape[i]);
  const int64_t per = saturating_add(saturating_mul(2, per_output), ctx.has_input(2) ? 1 : 0);
  return saturating_mul(out[0].numel(), per);
}
}  // namespace conv_op
}  // namespace

extern const OpDef kConv{
    OpKind::kConv, "Conv",         2, 3, 1, 1, conv_op::infer, conv_op::prepare, conv_op::flops,
    false,         conv_op::region};
}  // namespace fg::ops
