// MaxPool: kernel_shape, strides, dilations, pads or auto_pad, ceil_mode; 1-d to 3-d.
// Padding counts as -inf. The optional Indices output is not supported. 2-d float pools run
// faultgraph's own kernel (ATen's bits; its NCHW kernel is scalar and also makes indices),
// the others ATen's.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/parallel.h"
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace max_pool_op {
Window parse(const OpContext& ctx) {
  const TensorInfo& x = ctx.in[0];
  FG_CHECK(x.rank_known && x.rank() >= 3 && x.rank() <= 5, ShapeError, ctx.where(),
           ": input must be N x C x spatial (rank 3 to 5)");
  FG_CHECK(ctx.node.outputs.size() == 1, ModelFormatError, ctx.where(),
           ": the Indices output is not supported");
  FG_CHECK(ctx.attrs().get_int("storage_order", 0) == 0, ModelFormatError, ctx.where(),
           ": storage_order=1 is not supported");
  return parse_window(ctx, Shape(x.shape.begin() + 2, x.shape.end()));
}

std::vector<TensorInfo> infer(const OpContext& ctx) {
  Window w = parse(ctx);
  const TensorInfo& x = ctx.in[0];
  Shape out(x.shape.begin(), x.shape.begin() + 2);
  Shape sp = window_output(ctx, w, Shape(x.shape.begin() + 2, x.shape.end()));
  out.insert(out.end(), sp.begin(), sp.end());
  return {make_info(x.dtype, out)};
}

at::Tensor max_pool(const at::Tensor& x, const Window& w, const std::vector<int64_t>& pad,
                    bool ceil_mode) {
  switch (w.kernel.size()) {
    case 2:
      return at::max_pool2d(x, w.kernel, w.strides, pad, w.dilations, ceil_mode);
    case 1:
      return at::max_pool1d(x, w.kernel, w.strides, pad, w.dilations, ceil_mode);
    default:
      return at::max_pool3d(x, w.kernel, w.strides, pad, w.dilations, ceil_mode);
  }
}

constexpr int64_t kBlock = 16;
constexpr float kMinusInf = -std::numeric_limits<float>::infinity();

// The running maximum m and a tap v, as ATen's max_pool2d CPU kernel takes them: from -inf, v
// where it is greater or NaN. So the last NaN of a window wins, the first of equal values
// stays (+0 then -0 gives +0), and the -inf that padding reads is never taken.
inline float take(float m, float v) { return v > m || std::isnan(v) ? v : m; }

// Output row `y` (len columns) from `rows`, the first input row its windows read (rows
// row_stride apart, row_len long): the taps of each window row by row, then column by
// column, in ATen's order.
void max_row(const float* rows, int64_t row_stride, const Window& w, float* y, int64_t len) {
  const int64_t kh = w.kernel[0], kw = w.kernel[1], sw = w.strides[1];
  const int64_t dh = w.dilations[0], dw = w.dilations[1];
  for (int64_t j = 0; j < len; ++j) {
    float m = kMinusInf;
    for (int64_t a = 0; a < kh; ++a) {
      for (int64_t b = 0; b < kw; ++b) m = take(m, rows[a * dh * row_stride + j * sw + b * dw]);
    }
    y[j] = m;
  }
}

// max_row at column stride 1 or 2 on AVX-512, 16 output columns a vector, the same taps in
// the same order with the same rule per lane (stride 2: two loads, the even lanes kept).
__attribute__((target("avx512f"))) void max_row_avx512(const float* rows, int64_t row_stride,
                                                       int64_t row_len, const Window& w, float* y,
                                                       int64_t len) {
  const int64_t kh = w.kernel[0], kw = w.kernel[1], sw = w.strides[1];
  const int64_t dh = w.dilations[0], dw = w.dilations[1];
  const auto lanes = [](int64_t n) {
    return static_cast<__mmask16>(n >= 16 ? 0xffffU : (1U << std::max<int64_t>(n, 0)) - 1U);
  };
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  for (int64_t j0 = 0; j0 < len; j0 += kBlock) {
    const __mmask16 m = lanes(len - j0);
    __m512 acc = _mm512_set1_ps(kMinusInf);
    for (int64_t a = 0; a < kh; ++a) {
      const float* row = rows + a * dh * row_stride;
      for (int64_t b = 0; b < kw; ++b) {
        const int64_t c = j0 * sw + b * dw;  // the column lane 0 reads
        __m512 v;
        if (sw == 1) {
          v = _mm512_maskz_loadu_ps(m, row + c);
        } else {
          const int64_t avail = row_len - c;  // lane j reads c + 2 j < row_len
          const __m512 lo = _mm512_maskz_loadu_ps(lanes(avail), row + c);
          const __m512 hi =
              avail > 16 ? _mm512_maskz_loadu_ps(lanes(avail - 16), row + c + 16) : lo;
          v = _mm512_permutex2var_ps(lo, even, hi);
        }
        const __mmask16 t =
            _mm512_cmp_ps_mask(v, acc, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        acc = _mm512_mask_mov_ps(acc, t, v);
      }
    }
    _mm512_mask_storeu_ps(y + j0, m, acc);
  }
}

// Output box `ob` (N x C x H x W) of a 2-d pool from `padded`, the -inf-padded input its
// windows read (window_input): ATen's max_pool2d bits at any box.
at::Tensor max_2d(const at::Tensor& padded, const Window& w, const Box& ob) {
  const at::Tensor xp = padded.contiguous();
  const int64_t oh = ob.hi[2] - ob.lo[2], ow = ob.hi[3] - ob.lo[3];
  const int64_t planes = xp.size(0) * xp.size(1), hp = xp.size(2), wp = xp.size(3);
  at::Tensor y = at::empty({xp.size(0), xp.size(1), oh, ow}, xp.options());
  const float* src = xp.data_ptr<float>();
  float* dst = y.data_ptr<float>();
  const int64_t sh = w.strides[0];
  // About 32k taps per task (in doubles: a hostile kernel size must not overflow).
  const double per_plane = static_cast<double>(oh) * static_cast<double>(ow) *
                           static_cast<double>(w.kernel[0]) * static_cast<double>(w.kernel[1]);
  const auto grain = static_cast<int64_t>(std::clamp(32768.0 / std::max(per_plane, 1.0), 1.0, 1e9));
  const bool vector = w.strides[1] <= 2 && has_avx512();
  fg::parallel_for(0, planes, grain, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      for (int64_t i = 0; i < oh; ++i) {
        const float* rows = src + (p * hp + i * sh) * wp;
        float* out = dst + (p * oh + i) * ow;
        if (vector) {
          max_row_avx512(rows, wp, wp, w, out, ow);
        } else {
          max_row(rows, wp, w, out, ow);
        }
      }
    }
  });
  return y;
}

Kernel prepare(const OpContext& ctx) {
  Window w = parse(ctx);
  // ATen takes symmetric padding of at most half the kernel; anything else is padded first.
  bool native = w.symmetric();
  for (size_t i = 0; i < w.kernel.size(); ++i) native = native && 2 * w.pad_begin[i] <= w.kernel[i];
  Kernel aten = [w, native](KernelArgs& a) {
    at::Tensor x = native ? a.in[0] : pad_spatial(a.in[0], w, kMinusInf);
    std::vector<int64_t> pad = native ? w.pad_begin : std::vector<int64_t>(w.kernel.size(), 0);
    a.out[0] = max_pool(x, w, pad, w.ceil_mode);
  };
  const Shape out = infer(ctx)[0].shape;
  if (!own_pool_kernel(ctx.in[0], w, out)) return aten;
  const Shape in = ctx.in[0].shape;
  return [w, in, out, aten](KernelArgs& a) {
    const at::Tensor& x = a.in[0];
    if (x.scalar_type() != at::kFloat || x.sizes() != at::IntArrayRef(in)) {
      aten(a);  // not the prepared signature
      return;
    }
    const Box ob = Box::whole(out);
    a.out[0] = max_2d(window_input(WindowInput{x, {}, {}}, w, ob, 0, in[1], kMinusInf), w, ob);
  };
}

// Per channel: a change reaches the outputs whose windows read it.
std::optional<Region> region(const OpContext& ctx) {
  if (!ctx.in[0].shape_known()) return std::nullopt;
  Window w = parse(ctx);
  Shape out = infer(ctx)[0].shape;
  Region r;
  r.reach = [w, out](size_t, const Box& b) -> std::optional<Box> {
    Box o = b;
    for (size_t j = 0; j < w.kernel.size(); ++j) {
      auto [lo, hi] = window_reach(w, j, b.lo[2 + j], b.hi[2 + j], out[2 + j]);
      o.lo[2 + j] = lo;
      o.hi[2 + j] = hi;
    }
    return o;
  };
  const bool own = own_pool_kernel(ctx.in[0], w, out);
  r.compute = [w, own](const std::vector<WindowInput>& in, const Box& ob) {
    at::Tensor x = window_input(in[0], w, ob, ob.lo[1], ob.hi[1], kMinusInf);
    if (own && x.scalar_type() == at::kFloat) return max_2d(x, w, ob);
    return max_pool(x, w, std::vector<int64_t>(w.kernel.size(), 0), false);
  };
  return r;  // a maximum does not depend on the order
}

int64_t flops(const OpContext& ctx, std::span<const TensorInfo> out) {
  int64_t k = 1;
  for (int64_t d : ctx.attrs().get_ints("kernel_shape"))
    k = saturating_mul(k, std::max<int64_t>(d, 0));
  return out[0].numel() < 0 ? -1 : saturating_mul(out[0].numel(), k);
}
}  // namespace max_pool_op
}  // namespace

extern const OpDef kMaxPool{OpKind::kMaxPool,
                            "MaxPool",
                            1,
                            1,
                            1,
                            2,
                            max_pool_op::infer,
                            max_pool_op::prepare,
                            max_pool_op::flops,
                            false,
                            max_pool_op::region};
}  // namespace fg::ops
