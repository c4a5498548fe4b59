// AveragePool: kernel_shape, strides, pads or auto_pad, ceil_mode, count_include_pad;
// 1-d to 3-d. Asymmetric pads are applied beforehand; with count_include_pad = 0 the sum
// is then divided by the number of real (unpadded) elements in each window.
// Float 2-d pools (InceptionV3's branch pools) run on faultgraph's own kernel: ATen's NCHW
// loop is scalar (15% of an InceptionV3 campaign), and the same kernel computes windows
// (Region) with the whole op's bits.

#include <immintrin.h>

#include <algorithm>

#include "core/parallel.h"
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace average_pool_op {
struct AvgParams {
  Window window;
  bool count_include_pad;
};

AvgParams parse(const OpContext& ctx) {
  const TensorInfo& x = ctx.in[0];
  FG_CHECK(x.rank_known && x.rank() >= 3 && x.rank() <= 5, ShapeError, ctx.where(),
           ": input must be N x C x spatial (rank 3 to 5)");
  AvgParams p{parse_window(ctx, Shape(x.shape.begin() + 2, x.shape.end())),
              ctx.attrs().get_int("count_include_pad", 0) != 0};
  for (int64_t d : p.window.dilations) {
    FG_CHECK(d == 1, ModelFormatError, ctx.where(), ": dilations other than 1 are not supported");
  }
  return p;
}

std::vector<TensorInfo> infer(const OpContext& ctx) {
  AvgParams p = parse(ctx);
  const TensorInfo& x = ctx.in[0];
  Shape out(x.shape.begin(), x.shape.begin() + 2);
  Shape sp = window_output(ctx, p.window, Shape(x.shape.begin() + 2, x.shape.end()));
  out.insert(out.end(), sp.begin(), sp.end());
  return {make_info(x.dtype, out)};
}

at::Tensor avg(const at::Tensor& x, const Window& w, const std::vector<int64_t>& pad, bool cip) {
  switch (w.kernel.size()) {
    case 2:
      return at::avg_pool2d(x, w.kernel, w.strides, pad, w.ceil_mode, cip);
    case 1:
      return at::avg_pool1d(x, w.kernel, w.strides, pad, w.ceil_mode, cip);
    default:
      return at::avg_pool3d(x, w.kernel, w.strides, pad, w.ceil_mode, cip);
  }
}

// ATen's cpu_avg_pool divisor along one spatial dim for output position o: the window's
// extent clipped to the padded input (count_include_pad) or to the input itself.
int64_t window_extent(const Window& w, size_t j, int64_t o, int64_t len, bool cip) {
  int64_t i0 = o * w.strides[j] - w.pad_begin[j];
  int64_t i1 = std::min(i0 + w.kernel[j], len + w.pad_end[j]);
  int64_t valid = std::min(i1, len) - std::max<int64_t>(i0, 0);
  if (valid <= 0) return 0;
  return cip ? i1 - i0 : valid;
}

constexpr int64_t kBlock = 16;

// One block of up to kBlock outputs of a row: each sums its kh x kw window of the zero-padded
// rows in row-major order from +0, as ATen's cpu_avg_pool sums the unpadded part (adding +0 to
// a float sum that started at +0 changes nothing), then divides by its divisor and adds the
// quotient to +0, as ATen does. Local arrays and fixed trip counts: the loops vectorise across
// outputs, each output's sum in the same order.
__attribute__((target_clones("avx512f", "avx2", "default"))) void avg_block(
    const float* rows, int64_t row_stride, int64_t kh, int64_t kw, int64_t sw, const float* div,
    float* y, int64_t len) {
  float acc[kBlock] = {};
  if (sw == 1 && len == kBlock) {
    for (int64_t a = 0; a < kh; ++a) {
      const float* row = rows + a * row_stride;
      for (int64_t b = 0; b < kw; ++b) {
        for (int64_t j = 0; j < kBlock; ++j) acc[j] += row[b + j];
      }
    }
  } else {
    float in[kBlock] = {};
    for (int64_t a = 0; a < kh; ++a) {
      const float* row = rows + a * row_stride;
      for (int64_t b = 0; b < kw; ++b) {
        for (int64_t j = 0; j < len; ++j) in[j] = row[b + j * sw];
        for (int64_t j = 0; j < kBlock; ++j) acc[j] += in[j];
      }
    }
  }
  float d[kBlock];
  for (int64_t j = 0; j < kBlock; ++j) d[j] = 1.0F;
  std::copy(div, div + len, d);
  float q[kBlock];
  for (int64_t j = 0; j < kBlock; ++j) q[j] = 0.0F + acc[j] / d[j];
  std::copy(q, q + len, y);
}

// avg_block at stride 1 on AVX-512, the same bits: lane j sums row[b + j] over the window in
// the same order from +0, divides by div[j] and adds the quotient to +0 (only additions and
// one division per lane: nothing for the compiler to contract). GCC left avg_block's
// fixed-count loops scalar (a 3 x 3 pool of InceptionV3's ran at about 3 GFLOP/s).
__attribute__((target("avx512f"))) void avg_row_avx512(const float* rows, int64_t row_stride,
                                                       int64_t kh, int64_t kw, const float* div,
                                                       float* y, int64_t len) {
  for (int64_t j0 = 0; j0 < len; j0 += kBlock) {
    const int64_t n = std::min(kBlock, len - j0);
    const auto m = static_cast<__mmask16>((1U << n) - 1U);
    __m512 acc = _mm512_setzero_ps();
    for (int64_t a = 0; a < kh; ++a) {
      const float* row = rows + a * row_stride + j0;
      for (int64_t b = 0; b < kw; ++b) acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, row + b));
    }
    const __m512 d = _mm512_mask_loadu_ps(_mm512_set1_ps(1.0F), m, div + j0);
    _mm512_mask_storeu_ps(y + j0, m, _mm512_add_ps(_mm512_setzero_ps(), _mm512_div_ps(acc, d)));
  }
}

// Output box `ob` (N x C x H x W) of a 2-d float pool from `xp`, the zero-padded input that
// its windows read (window_input): ATen's avg_pool2d bits at any box.
at::Tensor avg_2d(const at::Tensor& padded, const Window& w, const Box& ob, const Shape& in_hw,
                  bool cip) {
  at::Tensor xp = padded.contiguous();
  const int64_t oh = ob.hi[2] - ob.lo[2], ow = ob.hi[3] - ob.lo[3];
  const int64_t planes = xp.size(0) * xp.size(1), hp = xp.size(2), wp = xp.size(3);
  at::Tensor y = at::empty({xp.size(0), xp.size(1), oh, ow}, xp.options());
  // Divisors per output position; 1 where no input is read (ATen leaves those outputs 0,
  // and their sum of padding is 0).
  std::vector<float> div(static_cast<size_t>(oh * ow));
  for (int64_t i = 0; i < oh; ++i) {
    int64_t eh = window_extent(w, 0, ob.lo[2] + i, in_hw[0], cip);
    for (int64_t j = 0; j < ow; ++j) {
      int64_t ew = window_extent(w, 1, ob.lo[3] + j, in_hw[1], cip);
      div[static_cast<size_t>(i * ow + j)] = eh * ew == 0 ? 1.0F : static_cast<float>(eh * ew);
    }
  }
  const float* src = xp.data_ptr<float>();
  float* dst = y.data_ptr<float>();
  const int64_t kh = w.kernel[0], kw = w.kernel[1], sh = w.strides[0], sw = w.strides[1];
  // About 32k additions per task (in doubles: a hostile kernel size must not overflow).
  const double per_plane = static_cast<double>(oh) * static_cast<double>(ow) *
                           static_cast<double>(kh) * static_cast<double>(kw);
  const auto grain = static_cast<int64_t>(std::clamp(32768.0 / std::max(per_plane, 1.0), 1.0, 1e9));
  const bool rows = sw == 1 && has_avx512();
  fg::parallel_for(0, planes, grain, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const float* plane = src + p * hp * wp;
      for (int64_t i = 0; i < oh; ++i) {
        if (rows) {
          avg_row_avx512(plane + i * sh * wp, wp, kh, kw, div.data() + i * ow,
                         dst + (p * oh + i) * ow, ow);
          continue;
        }
        for (int64_t j0 = 0; j0 < ow; j0 += kBlock) {
          avg_block(plane + i * sh * wp + j0 * sw, wp, kh, kw, sw, div.data() + i * ow + j0,
                    dst + (p * oh + i) * ow + j0, std::min(kBlock, ow - j0));
        }
      }
    }
  });
  return y;
}

// faultgraph's kernel (and Region) apply: see own_pool_kernel. Inputs of another type or
// rank are refused before the attributes are parsed, as before the check was shared.
bool own_kernel(const OpContext& ctx) {
  const TensorInfo& x = ctx.in[0];
  if (x.dtype != DType::kFloat32 || !x.shape_known() || x.rank() != 4) return false;
  return own_pool_kernel(x, parse(ctx).window, infer(ctx)[0].shape);
}

Kernel ate_kernel(const AvgParams& p);

Kernel prepare(const OpContext& ctx) {
  AvgParams p = parse(ctx);
  if (own_kernel(ctx)) {
    const Shape out = infer(ctx)[0].shape;
    const Shape in = ctx.in[0].shape;
    return [p, in, out, fallback = ate_kernel(p)](KernelArgs& a) {
      const at::Tensor& x = a.in[0];
      if (x.scalar_type() != at::kFloat || x.sizes() != at::IntArrayRef(in)) {
        fallback(a);  // not the prepared signature
        return;
      }
      const Box ob = Box::whole(out);
      a.out[0] = avg_2d(window_input(WindowInput{x, {}, {}}, p.window, ob, 0, in[1], 0.0), p.window,
                        ob, {in[2], in[3]}, p.count_include_pad);
    };
  }
  return ate_kernel(p);
}

// ATen's pools: other ranks and types.
Kernel ate_kernel(const AvgParams& p) {
  bool native = p.window.symmetric();
  for (size_t i = 0; i < p.window.kernel.size(); ++i) {
    native = native && 2 * p.window.pad_begin[i] <= p.window.kernel[i];
  }
  return [p, native](KernelArgs& a) {
    const Window& w = p.window;
    if (native) {
      a.out[0] = avg(a.in[0], w, w.pad_begin, p.count_include_pad);
      return;
    }
    std::vector<int64_t> zero(w.kernel.size(), 0);
    at::Tensor padded = pad_spatial(a.in[0], w, 0.0);
    at::Tensor mean = avg(padded, w, zero, true);
    if (p.count_include_pad) {
      a.out[0] = mean;
      return;
    }
    // Fraction of real elements in each window, from a padded mask of ones.
    auto mask_shape = a.in[0].sizes().vec();
    for (size_t i = 0; i < 2; ++i) mask_shape[i] = 1;
    at::Tensor ones = at::ones(mask_shape, a.in[0].options());
    at::Tensor frac = avg(pad_spatial(ones, w, 0.0), w, zero, true);
    a.out[0] = mean / frac;
  };
}

// Per channel: a change reaches the outputs whose windows read it; a window is computed by
// the whole op's kernel, each output from its own inputs in a fixed order (exact).
std::optional<Region> region(const OpContext& ctx) {
  if (!own_kernel(ctx)) return std::nullopt;
  AvgParams p = parse(ctx);
  const Shape out = infer(ctx)[0].shape;
  const Shape in = ctx.in[0].shape;
  Region r;
  r.reach = [w = p.window, out](size_t, const Box& b) -> std::optional<Box> {
    Box o = b;
    for (size_t j = 0; j < 2; ++j) {
      auto [lo, hi] = window_reach(w, j, b.lo[2 + j], b.hi[2 + j], out[2 + j]);
      o.lo[2 + j] = lo;
      o.hi[2 + j] = hi;
    }
    return o;
  };
  r.compute = [p, in](const std::vector<WindowInput>& x, const Box& ob) {
    return avg_2d(window_input(x[0], p.window, ob, ob.lo[1], ob.hi[1], 0.0), p.window, ob,
                  {in[2], in[3]}, p.count_include_pad);
  };
  return r;
}

int64_t flops(const OpContext& ctx, std::span<const TensorInfo> out) {
  int64_t k = 1;
  for (int64_t d : ctx.attrs().get_ints("kernel_shape"))
    k = saturating_mul(k, std::max<int64_t>(d, 0));
  return out[0].numel() < 0 ? -1 : saturating_mul(out[0].numel(), k);
}
}  // namespace average_pool_op
}  // namespace

extern const OpDef kAveragePool{OpKind::kAveragePool,
                                "AveragePool",
                                1,
                                1,
                                1,
                                1,
                                average_pool_op::infer,
                                average_pool_op::prepare,
                                average_pool_op::flops,
                                false,
                                average_pool_op::region};
}  // namespace fg::ops
