// 1x1 convolutions on faultgraph's own kernel: see ops/pointwise_conv.h. A GEMM per sample,
// y (Cout x P) = w (Cout x Cin) x (Cin x P) over the P = H x W positions, in tiles of 6
// output channels by up to 64 positions (24 AVX-512 accumulators); every output element is
// one chain of fused multiply-adds over the input channels in order, so the tiling, the
// batch and the threads never change its bits.
#include "ops/pointwise_conv.h"

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <immintrin.h>

#include <algorithm>
#include <cmath>

namespace fg::ops {
namespace {

constexpr int kTileRows = 6;       // output channels per tile
constexpr int64_t kTileCols = 64;  // positions per tile: 4 vectors of 16 floats

// One tile: rows w[0..5] (rows past `rows` repeat the last one and are not stored), the
// positions x[0 .. cols) of every input channel (ldx apart), into y (ldy apart). NV vectors
// of positions, the last masked by `tail`.
template <int NV>
__attribute__((target("avx512f"))) void tile_avx512(const float* x, int64_t ldx,
                                                    const float* const* w, int64_t k,
                                                    const float* bias, int rows, float* y,
                                                    int64_t ldy, __mmask16 tail) {
  const __mmask16 m0 = NV == 1 ? tail : 0xffff, m1 = NV == 2 ? tail : 0xffff,
                  m2 = NV == 3 ? tail : 0xffff, m3 = NV == 4 ? tail : 0xffff;
#define FG_ZERO(r)                           \
  __m512 a##r##0, a##r##1, a##r##2, a##r##3; \
  a##r##0 = a##r##1 = a##r##2 = a##r##3 = _mm512_setzero_ps();
  FG_ZERO(0)
  FG_ZERO(1) FG_ZERO(2) FG_ZERO(3) FG_ZERO(4) FG_ZERO(5)
#undef FG_ZERO
      const float *w0 = w[0],
                  *w1 = w[1], *w2 = w[2], *w3 = w[3], *w4 = w[4], *w5 = w[5];
  for (int64_t i = 0; i < k; ++i) {
    const float* xi = x + i * ldx;
    __m512 x0, x1, x2, x3;
    x0 = _mm512_maskz_loadu_ps(m0, xi);
    if constexpr (NV > 1) x1 = _mm512_maskz_loadu_ps(m1, xi + 16);
    if constexpr (NV > 2) x2 = _mm512_maskz_loadu_ps(m2, xi + 32);
    if constexpr (NV > 3) x3 = _mm512_maskz_loadu_ps(m3, xi + 48);
#define FG_ROW(r)                                                     \
  {                                                                   \
    const __m512 wb = _mm512_set1_ps(w##r[i]);                        \
    a##r##0 = _mm512_fmadd_ps(wb, x0, a##r##0);                       \
    if constexpr (NV > 1) a##r##1 = _mm512_fmadd_ps(wb, x1, a##r##1); \
    if constexpr (NV > 2) a##r##2 = _mm512_fmadd_ps(wb, x2, a##r##2); \
    if constexpr (NV > 3) a##r##3 = _mm512_fmadd_ps(wb, x3, a##r##3); \
  }
    FG_ROW(0) FG_ROW(1) FG_ROW(2) FG_ROW(3) FG_ROW(4) FG_ROW(5)
#undef FG_ROW
  }
#define FG_STORE(r)                                                    \
  if (r < rows) {                                                      \
    float* yr = y + r * ldy;                                           \
    if (bias) {                                                        \
      const __m512 bb = _mm512_set1_ps(bias[r]);                       \
      a##r##0 = _mm512_add_ps(a##r##0, bb);                            \
      if constexpr (NV > 1) a##r##1 = _mm512_add_ps(a##r##1, bb);      \
      if constexpr (NV > 2) a##r##2 = _mm512_add_ps(a##r##2, bb);      \
      if constexpr (NV > 3) a##r##3 = _mm512_add_ps(a##r##3, bb);      \
    }                                                                  \
    _mm512_mask_storeu_ps(yr, m0, a##r##0);                            \
    if constexpr (NV > 1) _mm512_mask_storeu_ps(yr + 16, m1, a##r##1); \
    if constexpr (NV > 2) _mm512_mask_storeu_ps(yr + 32, m2, a##r##2); \
    if constexpr (NV > 3) _mm512_mask_storeu_ps(yr + 48, m3, a##r##3); \
  }
  FG_STORE(0) FG_STORE(1) FG_STORE(2) FG_STORE(3) FG_STORE(4) FG_STORE(5)
#undef FG_STORE
}

// The same tile without AVX-512: the same fused multiply-adds in the same order per element
// (vectorised across positions where the CPU has FMA), so the same bits.
__attribute__((target_clones("arch=x86-64-v3", "default"))) void tile_portable(
    const float* x, int64_t ldx, const float* const* w, int64_t k, const float* bias, int rows,
    float* y, int64_t ldy, int64_t cols) {
  float acc[kTileRows][kTileCols] = {};
  for (int64_t i = 0; i < k; ++i) {
    const float* __restrict xi = x + i * ldx;
    for (int r = 0; r < rows; ++r) {
      const float wr = w[r][i];
      float* __restrict ar = acc[r];
      for (int64_t p = 0; p < cols; ++p) ar[p] = std::fma(wr, xi[p], ar[p]);
    }
  }
  for (int r = 0; r < rows; ++r) {
    for (int64_t p = 0; p < cols; ++p) y[r * ldy + p] = bias ? acc[r][p] + bias[r] : acc[r][p];
  }
}

bool has_avx512() {
  static const bool yes = __builtin_cpu_supports("avx512f") != 0;
  return yes;
}

}  // namespace

bool pointwise_conv_applies(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias) {
  const bool grads = at::GradMode::is_enabled() && (x.requires_grad() || w.requires_grad() ||
                                                    (bias.defined() && bias.requires_grad()));
  return !grads && x.scalar_type() == at::kFloat && w.scalar_type() == at::kFloat &&
         (!bias.defined() ||
          (bias.scalar_type() == at::kFloat && bias.dim() == 1 && bias.size(0) == w.size(0))) &&
         x.dim() == 4 && w.dim() == 4 && w.size(1) == x.size(1) && w.size(2) == 1 &&
         w.size(3) == 1 && x.device().is_cpu() && w.device().is_cpu();
}

at::Tensor pointwise_conv(const at::Tensor& x_in, const at::Tensor& w_in, const at::Tensor& b_in,
                          PointwiseKernel kernel) {
  const at::Tensor x = x_in.contiguous();
  const at::Tensor w = w_in.contiguous();
  const at::Tensor b = b_in.defined() ? b_in.contiguous() : b_in;
  const int64_t n = x.size(0), cin = x.size(1), cout = w.size(0);
  const int64_t p = x.size(2) * x.size(3);
  at::Tensor y = at::empty({n, cout, x.size(2), x.size(3)}, x.options());
  if (n == 0 || cout == 0 || p == 0) return y;
  const float* px = x.data_ptr<float>();
  const float* pw = w.data_ptr<float>();
  const float* pb = b.defined() ? b.data_ptr<float>() : nullptr;
  float* py = y.data_ptr<float>();
  const bool avx512 = kernel == PointwiseKernel::kBest && has_avx512();
  // Tasks: (sample, tile of positions, group of up to 8 row tiles); about 64 K multiply-adds
  // per task at least, so that small layers run on one thread.
  const int64_t col_tiles = (p + kTileCols - 1) / kTileCols;
  const int64_t row_tiles = (cout + kTileRows - 1) / kTileRows;
  constexpr int64_t kRowTilesPerTask = 8;
  const int64_t row_groups = (row_tiles + kRowTilesPerTask - 1) / kRowTilesPerTask;
  const int64_t tasks = n * col_tiles * row_groups;
  const int64_t per_task = kRowTilesPerTask * kTileRows * kTileCols * std::max<int64_t>(cin, 1);
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 16) / per_task);
  at::parallel_for(0, tasks, grain, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t s = t / (col_tiles * row_groups);
      const int64_t ct = t / row_groups % col_tiles;
      const int64_t rg = t % row_groups;
      const int64_t p0 = ct * kTileCols, cols = std::min(kTileCols, p - p0);
      const float* xs = px + s * cin * p + p0;
      float* ys = py + s * cout * p + p0;
      const int64_t r_end = std::min(cout, (rg + 1) * kRowTilesPerTask * kTileRows);
      for (int64_t c0 = rg * kRowTilesPerTask * kTileRows; c0 < r_end; c0 += kTileRows) {
        const int rows = static_cast<int>(std::min<int64_t>(kTileRows, cout - c0));
        const float* wr[kTileRows];
        for (int r = 0; r < kTileRows; ++r) wr[r] = pw + (c0 + std::min(r, rows - 1)) * cin;
        const float* bias = pb ? pb + c0 : nullptr;
        float* yt = ys + c0 * p;
        if (!avx512) {
          tile_portable(xs, p, wr, cin, bias, rows, yt, p, cols);
          continue;
        }
        const int64_t vectors = (cols + 15) / 16;
        const auto tail = static_cast<__mmask16>(
            cols % 16 == 0 ? 0xffff : (1U << static_cast<unsigned>(cols % 16)) - 1);
        switch (vectors) {
          case 1:
            tile_avx512<1>(xs, p, wr, cin, bias, rows, yt, p, tail);
            break;
          case 2:
            tile_avx512<2>(xs, p, wr, cin, bias, rows, yt, p, tail);
            break;
          case 3:
            tile_avx512<3>(xs, p, wr, cin, bias, rows, yt, p, tail);
            break;
          default:
            tile_avx512<4>(xs, p, wr, cin, bias, rows, yt, p, tail);
            break;
        }
      }
    }
  });
  return y;
}

}  // namespace fg::ops
