// 1x1 convolutions on faultgraph's own kernel: see ops/pointwise_conv.h. A GEMM per sample,
// y (Cout x P) = w (Cout x Cin) x (Cin x P) over the P = H x W positions, in tiles of 6
// output channels by up to 64 positions (24 AVX-512 accumulators), or of 32 output channels
// by up to 12 positions where positions would leave lanes empty (on AVX2, where the CPU has no
// AVX-512: 6 by 16 positions, or 16 channels by up to 6 positions), over blocks of input
// channels; every output element is one
// chain of fused multiply-adds over the input channels in order, so the kernel, the tiling, the
// batch and the threads never change its bits.
#include "ops/pointwise_conv.h"

#include <ATen/core/grad_mode.h>
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>
#include <vector>

#include "core/parallel.h"
#include "ops/common.h"
#include "ops/weight_cache.h"

namespace fg::ops {
namespace {

constexpr int kTileRows = 6;       // output channels per tile
constexpr int64_t kTileCols = 64;  // positions per tile: 4 vectors of 16 floats

// One tile: rows w[0..5] (rows past `rows` repeat the last one and are not stored), the
// positions x[0 .. cols) of input channels k0 .. k1 (ldx apart), into y (ldy apart). The
// accumulators start at +0 for the first block of input channels (k0 = 0), else at the
// partial sums a previous block left in y (floats either way: the same chain of fused
// multiply-adds as one pass over all input channels); the last block adds the bias. NV
// vectors of positions, the last masked by `tail`.
template <int NV>
__attribute__((target("avx512f"))) void tile_avx512(const float* x, int64_t ldx,
                                                    const float* const* w, int64_t k0, int64_t k1,
                                                    bool last, const float* bias, int rows,
                                                    float* y, int64_t ldy, __mmask16 tail) {
  const __mmask16 m0 = NV == 1 ? tail : 0xffff, m1 = NV == 2 ? tail : 0xffff,
                  m2 = NV == 3 ? tail : 0xffff, m3 = NV == 4 ? tail : 0xffff;
#define FG_ZERO(r)                           \
  __m512 a##r##0, a##r##1, a##r##2, a##r##3; \
  a##r##0 = a##r##1 = a##r##2 = a##r##3 = _mm512_setzero_ps();
  // clang-format off
  FG_ZERO(0) FG_ZERO(1) FG_ZERO(2) FG_ZERO(3) FG_ZERO(4) FG_ZERO(5)
#undef FG_ZERO
  if (k0 > 0) {
    // clang-format on
#define FG_LOAD(r)                                                      \
  {                                                                     \
    const float* yr = y + std::min(r, rows - 1) * ldy;                  \
    a##r##0 = _mm512_maskz_loadu_ps(m0, yr);                            \
    if constexpr (NV > 1) a##r##1 = _mm512_maskz_loadu_ps(m1, yr + 16); \
    if constexpr (NV > 2) a##r##2 = _mm512_maskz_loadu_ps(m2, yr + 32); \
    if constexpr (NV > 3) a##r##3 = _mm512_maskz_loadu_ps(m3, yr + 48); \
  }
    // clang-format off
    FG_LOAD(0) FG_LOAD(1) FG_LOAD(2) FG_LOAD(3) FG_LOAD(4) FG_LOAD(5)
    // clang-format on
#undef FG_LOAD
  }
  const float *w0 = w[0], *w1 = w[1], *w2 = w[2], *w3 = w[3], *w4 = w[4], *w5 = w[5];
  for (int64_t i = k0; i < k1; ++i) {
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
    // clang-format off
    FG_ROW(0) FG_ROW(1) FG_ROW(2) FG_ROW(3) FG_ROW(4) FG_ROW(5)
    // clang-format on
#undef FG_ROW
  }
#define FG_STORE(r)                                                    \
  if (r < rows) {                                                      \
    float* yr = y + r * ldy;                                           \
    if (last && bias) {                                                \
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
  // clang-format off
  FG_STORE(0) FG_STORE(1) FG_STORE(2) FG_STORE(3) FG_STORE(4) FG_STORE(5)
  // clang-format on
#undef FG_STORE
}

// The tile on AVX2 with FMA (CPUs without AVX-512: AMD before Zen 4, most Intel desktops):
// 6 output channels by NV vectors of 8 positions (12 accumulators of the 16 registers), the
// outputs masked to `cols`, x read from input channel k0 on (x[(i - k0) ldx], 8 NV floats a
// row: the caller packs a part of fewer positions, as masked loads in the loop ran at half
// speed on Zen 1); the same fused multiply-adds per element in the same order
// from +0 as tile_avx512, and the bias added last, so the same bits. (Without it these CPUs
// ran every 1x1 layer on tile_portable, which GCC leaves scalar at -O2: 1.7 GFLOP/s, a
// twentieth of oneDNN's.)
template <int NV>
__attribute__((target("avx2,fma"))) void tile_avx2(const float* x, int64_t ldx,
                                                   const float* const* w, int64_t k0, int64_t k1,
                                                   bool last, const float* bias, int rows, float* y,
                                                   int64_t ldy, int64_t cols) {
  // Lane j of m0 (m1) is on where position j (8 + j) < cols.
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const auto n0 = static_cast<int32_t>(std::min<int64_t>(cols, 16));
  const __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(n0), lane);
  const __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(n0 - 8), lane);
#define FG_ZERO(r) __m256 a##r##0 = _mm256_setzero_ps(), a##r##1 = a##r##0;
  // clang-format off
  FG_ZERO(0) FG_ZERO(1) FG_ZERO(2) FG_ZERO(3) FG_ZERO(4) FG_ZERO(5)
#undef FG_ZERO
  if (k0 > 0) {
    // clang-format on
#define FG_LOAD(r)                                                  \
  {                                                                 \
    const float* yr = y + std::min(r, rows - 1) * ldy;              \
    a##r##0 = _mm256_maskload_ps(yr, m0);                           \
    if constexpr (NV > 1) a##r##1 = _mm256_maskload_ps(yr + 8, m1); \
  }
    // clang-format off
    FG_LOAD(0) FG_LOAD(1) FG_LOAD(2) FG_LOAD(3) FG_LOAD(4) FG_LOAD(5)
    // clang-format on
#undef FG_LOAD
  }
  const float *w0 = w[0], *w1 = w[1], *w2 = w[2], *w3 = w[3], *w4 = w[4], *w5 = w[5];
  for (int64_t i = k0; i < k1; ++i) {
    const float* xi = x + (i - k0) * ldx;
    const __m256 x0 = _mm256_loadu_ps(xi);
    const __m256 x1 = NV > 1 ? _mm256_loadu_ps(xi + 8) : x0;
#define FG_ROW(r)                                                     \
  {                                                                   \
    const __m256 wb = _mm256_broadcast_ss(w##r + i);                  \
    a##r##0 = _mm256_fmadd_ps(wb, x0, a##r##0);                       \
    if constexpr (NV > 1) a##r##1 = _mm256_fmadd_ps(wb, x1, a##r##1); \
  }
    // clang-format off
    FG_ROW(0) FG_ROW(1) FG_ROW(2) FG_ROW(3) FG_ROW(4) FG_ROW(5)
    // clang-format on
#undef FG_ROW
  }
#define FG_STORE(r)                                                 \
  if (r < rows) {                                                   \
    float* yr = y + r * ldy;                                        \
    if (last && bias) {                                             \
      const __m256 bb = _mm256_set1_ps(bias[r]);                    \
      a##r##0 = _mm256_add_ps(a##r##0, bb);                         \
      if constexpr (NV > 1) a##r##1 = _mm256_add_ps(a##r##1, bb);   \
    }                                                               \
    _mm256_maskstore_ps(yr, m0, a##r##0);                           \
    if constexpr (NV > 1) _mm256_maskstore_ps(yr + 8, m1, a##r##1); \
  }
  // clang-format off
  FG_STORE(0) FG_STORE(1) FG_STORE(2) FG_STORE(3) FG_STORE(4) FG_STORE(5)
  // clang-format on
#undef FG_STORE
}

// The same tile in portable C++: the same fused multiply-adds in the same order per element,
// so the same bits; for CPUs without AVX2 and FMA, and the tests' reference (GCC leaves it
// scalar at -O2, even in its x86-64-v3 clone: 1.7 GFLOP/s on Zen 1).
__attribute__((target_clones("arch=x86-64-v3", "default"))) void tile_portable(
    const float* x, int64_t ldx, const float* const* w, int64_t k0, int64_t k1, bool last,
    const float* bias, int rows, float* y, int64_t ldy, int64_t cols) {
  float acc[kTileRows][kTileCols] = {};
  for (int r = 0; r < rows && k0 > 0; ++r) std::copy(y + r * ldy, y + r * ldy + cols, acc[r]);
  for (int64_t i = k0; i < k1; ++i) {
    const float* __restrict xi = x + i * ldx;
    for (int r = 0; r < rows; ++r) {
      const float wr = w[r][i];
      float* __restrict ar = acc[r];
      for (int64_t p = 0; p < cols; ++p) ar[p] = std::fma(wr, xi[p], ar[p]);
    }
  }
  for (int r = 0; r < rows; ++r) {
    for (int64_t p = 0; p < cols; ++p)
      y[r * ldy + p] = last && bias ? acc[r][p] + bias[r] : acc[r][p];
  }
}

constexpr int kChannelTile = 32;   // output channels per channel tile: 2 vectors of 16
constexpr int kPositionTile = 12;  // positions per channel tile

// The channels-across-lanes tile, for few positions (a window, a 7 x 7 layer), where
// tile_avx512 would leave most lanes empty: 32 output channels (their weights
// wt[i * ldw + c], c < 32; lanes past `channels` masked) at NP positions x[0 .. NP) of
// input channels k0 .. k1 (ldx apart), into the partial sums acc[j * lds + c] (position j,
// channel c), which start at +0 for the first block (k0 = 0). The same fused multiply-adds
// per element as tile_avx512 (w x x + acc, input channels in order), so the same bits;
// finish_channels adds the bias. [next, next_end): a part of the weights the tile reads
// next, fetched into the L2 cache two cache lines an input channel (as fast as the tile
// reads its own) while this one is computed. (One line every other channel fetched only a
// quarter of a panel where one tile covers the positions, as in a window of up to 12: cold
// 3 x 3 windows of ResNet-50's 1x1 layers took 1.1-1.9x as long.)
template <int NP>
__attribute__((target("avx512f"))) void tile_channels(const float* x, int64_t ldx, const float* wt,
                                                      int64_t ldw, int64_t k0, int64_t k1,
                                                      int channels, float* acc, int64_t lds,
                                                      const float* next, const float* next_end) {
  const __mmask16 m0 = static_cast<__mmask16>(channels >= 16 ? 0xffff : (1U << channels) - 1);
  const __mmask16 m1 = static_cast<__mmask16>(channels >= 32   ? 0xffff
                                              : channels <= 16 ? 0
                                                               : (1U << (channels - 16)) - 1);
#define FG_ZERO(j) __m512 c##j##0 = _mm512_setzero_ps(), c##j##1 = c##j##0;
  // clang-format off
  FG_ZERO(0) FG_ZERO(1) FG_ZERO(2) FG_ZERO(3) FG_ZERO(4) FG_ZERO(5)
  FG_ZERO(6) FG_ZERO(7) FG_ZERO(8) FG_ZERO(9) FG_ZERO(10) FG_ZERO(11)
#undef FG_ZERO
  if (k0 > 0) {
    // clang-format on
#define FG_LOAD(j)                                           \
  if constexpr (NP > j) {                                    \
    c##j##0 = _mm512_maskz_loadu_ps(m0, acc + j * lds);      \
    c##j##1 = _mm512_maskz_loadu_ps(m1, acc + j * lds + 16); \
  }
    // clang-format off
    FG_LOAD(0) FG_LOAD(1) FG_LOAD(2) FG_LOAD(3) FG_LOAD(4) FG_LOAD(5)
    FG_LOAD(6) FG_LOAD(7) FG_LOAD(8) FG_LOAD(9) FG_LOAD(10) FG_LOAD(11)
    // clang-format on
#undef FG_LOAD
  }
  for (int64_t i = k0; i < k1; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(wt + (i + 8) * ldw), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(wt + (i + 8) * ldw + 16), _MM_HINT_T0);
    if (next < next_end) {
      _mm_prefetch(reinterpret_cast<const char*>(next), _MM_HINT_T1);
      _mm_prefetch(reinterpret_cast<const char*>(next + 16), _MM_HINT_T1);
      next += 32;
    }
    const __m512 w0 = _mm512_maskz_loadu_ps(m0, wt + i * ldw);
    const __m512 w1 = _mm512_maskz_loadu_ps(m1, wt + i * ldw + 16);
    const float* xi = x + i * ldx;
#define FG_POS(j)                               \
  if constexpr (NP > j) {                       \
    const __m512 xb = _mm512_set1_ps(xi[j]);    \
    c##j##0 = _mm512_fmadd_ps(w0, xb, c##j##0); \
    c##j##1 = _mm512_fmadd_ps(w1, xb, c##j##1); \
  }
    // clang-format off
    FG_POS(0) FG_POS(1) FG_POS(2) FG_POS(3) FG_POS(4) FG_POS(5)
    FG_POS(6) FG_POS(7) FG_POS(8) FG_POS(9) FG_POS(10) FG_POS(11)
    // clang-format on
#undef FG_POS
  }
#define FG_OUT(j)                                           \
  if constexpr (NP > j) {                                   \
    _mm512_mask_storeu_ps(acc + j * lds, m0, c##j##0);      \
    _mm512_mask_storeu_ps(acc + j * lds + 16, m1, c##j##1); \
  }
  // clang-format off
  FG_OUT(0) FG_OUT(1) FG_OUT(2) FG_OUT(3) FG_OUT(4) FG_OUT(5)
  FG_OUT(6) FG_OUT(7) FG_OUT(8) FG_OUT(9) FG_OUT(10) FG_OUT(11)
  // clang-format on
#undef FG_OUT
}

// Up to 16 x 16 partial sums of the channel tiles to the output: y[c * ldy + j] =
// s[j * lds + c] (+ bias[c]) for channels c < nc and positions j < np, transposed in
// registers (the element-by-element copy, a strided read each, took 5% of a ResNet-50 cone
// campaign). The bias is added as tile_avx512 adds it: one rounding, the same bits.
__attribute__((target("avx512f"))) void sums_to_rows(const float* s, int64_t lds, const float* bias,
                                                     float* y, int64_t ldy, int nc, int np) {
  const auto mc = static_cast<__mmask16>(nc >= 16 ? 0xffff : (1U << nc) - 1);
  const auto mp = static_cast<__mmask16>(np >= 16 ? 0xffff : (1U << np) - 1);
  __m512 r[16];  // NOLINT(*-avoid-c-arrays): std::array drops __m512's alignment attribute
  __m512 t[16];  // NOLINT(*-avoid-c-arrays)
  // Every loop unrolled, so that r and t stay in registers (else they went through the stack).
#pragma GCC unroll 16
  for (int j = 0; j < 16; ++j) {
    r[j] = j < np ? _mm512_maskz_loadu_ps(mc, s + j * lds) : _mm512_setzero_ps();
  }
  // Rows j of channels -> rows c of positions: pairs of elements, then of pairs, then
  // 128-bit lanes twice. (The mask forms with every lane set: the plain ones pass GCC 12 an
  // undefined vector it warns about.)
  constexpr __mmask16 all = 0xffff;
#pragma GCC unroll 16
  for (int j = 0; j < 16; j += 2) {
    t[j] = _mm512_mask_unpacklo_ps(r[j], all, r[j], r[j + 1]);
    t[j + 1] = _mm512_mask_unpackhi_ps(r[j], all, r[j], r[j + 1]);
  }
#pragma GCC unroll 16
  for (int j = 0; j < 16; j += 4) {
    r[j] = _mm512_mask_shuffle_ps(t[j], all, t[j], t[j + 2], 0x44);
    r[j + 1] = _mm512_mask_shuffle_ps(t[j], all, t[j], t[j + 2], 0xee);
    r[j + 2] = _mm512_mask_shuffle_ps(t[j + 1], all, t[j + 1], t[j + 3], 0x44);
    r[j + 3] = _mm512_mask_shuffle_ps(t[j + 1], all, t[j + 1], t[j + 3], 0xee);
  }
#pragma GCC unroll 16
  for (int j = 0; j < 16; j += 8) {
#pragma GCC unroll 16
    for (int q = 0; q < 4; ++q) {
      t[j + q] = _mm512_mask_shuffle_f32x4(r[j + q], all, r[j + q], r[j + q + 4], 0x88);
      t[j + q + 4] = _mm512_mask_shuffle_f32x4(r[j + q], all, r[j + q], r[j + q + 4], 0xdd);
    }
  }
#pragma GCC unroll 16
  for (int q = 0; q < 8; ++q) {
    r[q] = _mm512_mask_shuffle_f32x4(t[q], all, t[q], t[q + 8], 0x88);
    r[q + 8] = _mm512_mask_shuffle_f32x4(t[q], all, t[q], t[q + 8], 0xdd);
  }
#pragma GCC unroll 16
  for (int c = 0; c < 16; ++c) {
    if (c >= nc) break;
    const __m512 v = bias ? _mm512_add_ps(r[c], _mm512_set1_ps(bias[c])) : r[c];
    _mm512_mask_storeu_ps(y + c * ldy, mp, v);
  }
}

using ChannelTile = void (*)(const float*, int64_t, const float*, int64_t, int64_t, int64_t, int,
                             float*, int64_t, const float*, const float*);
template <int... NP>
constexpr std::array<ChannelTile, sizeof...(NP)> channel_tiles(
    std::integer_sequence<int, NP...> /*unused*/) {
  return {&tile_channels<NP + 1>...};
}
constexpr std::array<ChannelTile, kPositionTile> kChannelTiles =
    channel_tiles(std::make_integer_sequence<int, kPositionTile>{});

// The channel tile on AVX2 with FMA: 16 output channels (2 vectors of 8; their weights
// wt[i * 16 + c], zero-padded past the layer's channels, whose sums nobody reads) by NP <= 6
// positions x[0 .. NP) of input channels k0 .. k1 (ldx apart), into the partial sums
// acc[j * lds + c] as tile_channels: 12 accumulators, 2 weight vectors and a broadcast, 15 of
// the 16 registers. The same fused multiply-adds per element as tile_channels, so the same
// bits. run_channels_avx2 says why this shape.
constexpr int kChannelTileAvx2 = 16;
constexpr int kPositionTileAvx2 = 6;
template <int NP>
__attribute__((target("avx2,fma"))) void tile_channels_avx2(const float* x, int64_t ldx,
                                                            const float* wt, int64_t k0, int64_t k1,
                                                            float* acc, int64_t lds,
                                                            const float* next) {
  __m256 c[NP][2];  // NOLINT(*-avoid-c-arrays): std::array drops __m256's alignment attribute
#pragma GCC unroll 8
  for (int j = 0; j < NP; ++j) {
    if (k0 > 0) {
      c[j][0] = _mm256_loadu_ps(acc + j * lds);
      c[j][1] = _mm256_loadu_ps(acc + j * lds + 8);
    } else {
      c[j][0] = c[j][1] = _mm256_setzero_ps();
    }
  }
  for (int64_t i = k0; i < k1; ++i) {
    const float* wi = wt + i * kChannelTileAvx2;
    if (next != nullptr) {
      _mm_prefetch(reinterpret_cast<const char*>(next + (i - k0) * kChannelTileAvx2), _MM_HINT_T0);
    }
    const __m256 w0 = _mm256_loadu_ps(wi), w1 = _mm256_loadu_ps(wi + 8);
    const float* xi = x + i * ldx;
#pragma GCC unroll 8
    for (int j = 0; j < NP; ++j) {
      const __m256 xb = _mm256_broadcast_ss(xi + j);
      c[j][0] = _mm256_fmadd_ps(w0, xb, c[j][0]);
      c[j][1] = _mm256_fmadd_ps(w1, xb, c[j][1]);
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < NP; ++j) {
    _mm256_storeu_ps(acc + j * lds, c[j][0]);
    _mm256_storeu_ps(acc + j * lds + 8, c[j][1]);
  }
}
using ChannelTileAvx2 = void (*)(const float*, int64_t, const float*, int64_t, int64_t, float*,
                                 int64_t, const float*);
constexpr std::array<ChannelTileAvx2, kPositionTileAvx2> kChannelTilesAvx2 = {
    &tile_channels_avx2<1>, &tile_channels_avx2<2>, &tile_channels_avx2<3>,
    &tile_channels_avx2<4>, &tile_channels_avx2<5>, &tile_channels_avx2<6>};

// The weights laid out for tile_channels: per tile of 32 output channels, Cin x 32,
// zero-padded. A tile's weights are contiguous: read with a stride of Cout floats, a
// transposed weight cost a TLB miss per input channel (a ResNet-50 campaign ran 64-66
// trials/s instead of 77-80 with the tiles and the prefetch).
WeightCache<int, at::Tensor> tiled_weights;

at::Tensor tiled_weight(const at::Tensor& w) {
  return tiled_weights.get(w, 0, [&] {
    const int64_t cout = w.size(0), cin = w.size(1);
    const int64_t tiles = (cout + kChannelTile - 1) / kChannelTile;
    at::Tensor t = at::zeros({tiles * kChannelTile, cin}, w.options());
    t.narrow(0, 0, cout).copy_(w.reshape({cout, cin}));
    return t.reshape({tiles, kChannelTile, cin}).transpose(1, 2).contiguous();
  });
}

// The weights laid out for tile_channels_avx2: per tile of 16 output channels, Cin x 16,
// zero-padded.
at::Tensor tiled_weight_avx2(const at::Tensor& w) {
  return tiled_weights.get(w, 1, [&] {
    const int64_t cout = w.size(0), cin = w.size(1);
    const int64_t tiles = (cout + kChannelTileAvx2 - 1) / kChannelTileAvx2;
    at::Tensor t = at::zeros({tiles * kChannelTileAvx2, cin}, w.options());
    t.narrow(0, 0, cout).copy_(w.reshape({cout, cin}));
    return t.reshape({tiles, kChannelTileAvx2, cin}).transpose(1, 2).contiguous();
  });
}

// Tasks of about 64 K multiply-adds at least, so that small layers run on one thread.
int64_t grain_for(int64_t work_per_task) {
  return std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(work_per_task, 1));
}

// The size of `blocks` near-equal blocks covering n, in whole tiles.
int64_t whole_tiles(int64_t n, int64_t blocks, int64_t tile) {
  const int64_t per_block = (n + blocks - 1) / blocks;
  return (per_block + tile - 1) / tile * tile;
}

// Input channels per block: a tile's positions of one block (128 x 64 floats) stay in the
// L1 cache while the tiles of a row block pass over them.
constexpr int64_t kBlockK = 128;
// Output channels per task (16 tiles of 6): their weights stay in the L2 cache while a
// thread's tasks pass over the samples and positions.
constexpr int64_t kBlockRows = 96;

// Which vector code run_positions uses.
enum class Isa { kAvx512, kAvx2, kPortable };

void run_positions(const float* px, const float* pw, const float* pb, float* py, int64_t n,
                   int64_t cin, int64_t cout, int64_t p, Isa isa) {
  // Tiles of near-equal numbers of 16-position vectors, at most 4 (13 vectors: 4, 3, 3, 3,
  // not 4, 4, 4, 1: a one-vector tile loads a weight per multiply-add).
  const int64_t vectors_total = (p + 15) / 16;
  const int64_t col_tiles = (vectors_total + 3) / 4;
  const int64_t base_vectors = vectors_total / col_tiles, extra = vectors_total % col_tiles;
  const int64_t row_blocks = (cout + kBlockRows - 1) / kBlockRows;
  // Blocks of near-equal size (whole tiles), so that threads get equal work.
  const int64_t block_rows = whole_tiles(cout, row_blocks, kTileRows);
  // Tasks: (block of rows, sample, tile of positions), rows outermost.
  const int64_t tasks = row_blocks * n * col_tiles;
  const int64_t grain = grain_for(kBlockRows * kTileCols * cin);
  fg::parallel_for(0, tasks, grain, [&](int64_t t0, int64_t t1) {
    std::array<float, kBlockK * 16> pack;  // AVX2: the x of a part of under 16 positions
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t rb = t / (n * col_tiles), s = t / col_tiles % n, ct = t % col_tiles;
      const int64_t p0 = 16 * (ct * base_vectors + std::min(ct, extra));
      const int64_t cols = std::min(16 * (base_vectors + (ct < extra ? 1 : 0)), p - p0);
      const float* xs = px + s * cin * p + p0;
      float* ys = py + s * cout * p + p0;
      const int64_t r0 = rb * block_rows, r1 = std::min(cout, r0 + block_rows);
      const int64_t vectors = (cols + 15) / 16;
      const auto tail = static_cast<__mmask16>(
          cols % 16 == 0 ? 0xffff : (1U << static_cast<unsigned>(cols % 16)) - 1);
      for (int64_t k0 = 0; k0 < cin; k0 += kBlockK) {
        const int64_t k1 = std::min(cin, k0 + kBlockK);
        const bool last = k1 == cin;
        // AVX2 tiles take 16 positions: the rows pass over one 16-position part of the block
        // at a time, which stays in the L1 cache (the whole block, 128 x 64 floats, is the
        // L1 cache of a Zen 1 core: 1x1 layers ran at 12 instead of 24 GFLOP/s).
        for (int64_t q = 0; q < cols; q += (isa == Isa::kAvx2 ? 16 : cols)) {
          const float* xq = xs + k0 * p + q;
          int64_t ldq = p;
          if (isa == Isa::kAvx2 && cols - q < 16) {  // a part of fewer positions, zero-padded
            for (int64_t i = k0; i < k1; ++i) {
              float* row = pack.data() + (i - k0) * 16;
              std::fill(std::copy(xs + i * p + q, xs + i * p + cols, row), row + 16, 0.0F);
            }
            xq = pack.data();
            ldq = 16;
          }
          for (int64_t c0 = r0; c0 < r1; c0 += kTileRows) {
            const int rows = static_cast<int>(std::min<int64_t>(kTileRows, r1 - c0));
            const float* wr[kTileRows];
            for (int r = 0; r < kTileRows; ++r) wr[r] = pw + (c0 + std::min(r, rows - 1)) * cin;
            const float* bias = pb ? pb + c0 : nullptr;
            float* yt = ys + c0 * p;
            if (isa == Isa::kAvx2) {
              if (cols - q > 8) {
                tile_avx2<2>(xq, ldq, wr, k0, k1, last, bias, rows, yt + q, p, cols - q);
              } else {
                tile_avx2<1>(xq, ldq, wr, k0, k1, last, bias, rows, yt + q, p, cols - q);
              }
              continue;
            }
            if (isa == Isa::kPortable) {
              tile_portable(xs, p, wr, k0, k1, last, bias, rows, yt, p, cols);
              continue;
            }
            switch (vectors) {
              case 1:
                tile_avx512<1>(xs, p, wr, k0, k1, last, bias, rows, yt, p, tail);
                break;
              case 2:
                tile_avx512<2>(xs, p, wr, k0, k1, last, bias, rows, yt, p, tail);
                break;
              case 3:
                tile_avx512<3>(xs, p, wr, k0, k1, last, bias, rows, yt, p, tail);
                break;
              default:
                tile_avx512<4>(xs, p, wr, k0, k1, last, bias, rows, yt, p, tail);
                break;
            }
          }
        }
      }
    }
  });
}

// Output channels per task of the channel kernel (4 tiles of 32).
constexpr int64_t kBlockChannels = 128;

// The channel kernel on AVX-512 (tile_channels).
void run_channels(const float* px, const float* wt, const float* pb, float* py, int64_t n,
                  int64_t cin, int64_t cout, int64_t p) {
  const int64_t most = kPositionTile;
  const ChannelTile* tiles = kChannelTiles.data();
  // Positions in near-equal tiles of at most 12 (49 = 10 + 10 + 10 + 10 + 9, not 4 x 12 + 1).
  const int64_t pos_tiles = (p + most - 1) / most;
  const int64_t per_tile = (p + pos_tiles - 1) / pos_tiles;
  // Tasks: (block of output channels, sample), channels outermost.
  const int64_t chan_blocks = (cout + kBlockChannels - 1) / kBlockChannels;
  const int64_t block_channels = whole_tiles(cout, chan_blocks, kChannelTile);
  const int64_t tasks = chan_blocks * n;
  fg::parallel_for(0, tasks, grain_for(kBlockChannels * p * cin), [&](int64_t t0, int64_t t1) {
    std::vector<float> sums(static_cast<size_t>(p * kBlockChannels));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t cb = t / n, s = t % n;
      const int64_t c0 = cb * block_channels, c1 = std::min(cout, c0 + block_channels);
      const float* xs = px + s * cin * p;
      for (int64_t k0 = 0; k0 < cin; k0 += kBlockK) {
        const int64_t k1 = std::min(cin, k0 + kBlockK);
        for (int64_t p0 = 0; p0 < p; p0 += per_tile) {
          const int64_t np = std::min(per_tile, p - p0);
          for (int64_t c = c0; c < c1; c += kChannelTile) {
            const int channels = static_cast<int>(std::min<int64_t>(kChannelTile, c1 - c));
            // The passes over the positions fetch the tile's next panel of weights, a share
            // each (at 7 x 7 a weight is used 49 times, so a panel read from memory while the
            // tiles wait cost a 2048 -> 512 layer 700 instead of 550 us).
            const float* next = nullptr;
            if (k1 < cin) {
              next = wt + c * cin + k1 * kChannelTile;
            } else if (c + block_channels < cout) {
              next = wt + (c + block_channels) * cin;
            }
            const float* share = next;
            const float* share_end = next;
            if (next != nullptr) {
              const int64_t lines = std::min(kBlockK, cin) * kChannelTile / 16;
              const int64_t part = p0 / per_tile;
              share = next + 16 * (lines * part / pos_tiles);
              share_end = next + 16 * (lines * (part + 1) / pos_tiles);
            }
            tiles[np - 1](xs + p0, p, wt + c * cin, kChannelTile, k0, k1, channels,
                          sums.data() + p0 * kBlockChannels + (c - c0), kBlockChannels, share,
                          share_end);
          }
        }
      }
      // The sums to y, the bias added (the same rounding as tile_avx512's vector add).
      float* ys = py + s * cout * p;
      for (int64_t c = c0; c < c1; c += 16) {
        for (int64_t j = 0; j < p; j += 16) {
          sums_to_rows(sums.data() + j * kBlockChannels + (c - c0), kBlockChannels,
                       pb ? pb + c : nullptr, ys + c * p + j, p,
                       static_cast<int>(std::min<int64_t>(16, c1 - c)),
                       static_cast<int>(std::min<int64_t>(16, p - j)));
        }
      }
    }
  });
}

// 8 x 8 partial sums of the AVX2 channel tiles to the output: y[c * ldy + j] = s[j * lds + c]
// (+ bias[c]) for channels and positions c, j < 8, transposed in registers (element by element,
// a strided read each, the copy took 5% of a ResNet-50 campaign on a Zen 3 core). The bias
// is added as tile_avx512 adds it: one rounding, the same bits.
__attribute__((target("avx2,fma"))) void sums_to_rows_avx2(const float* s, int64_t lds,
                                                           const float* bias, float* y,
                                                           int64_t ldy) {
  __m256 r[8];  // NOLINT(*-avoid-c-arrays): std::array drops __m256's alignment attribute
  __m256 t[8];  // NOLINT(*-avoid-c-arrays)
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(s + j * lds);
#pragma GCC unroll 8
  for (int j = 0; j < 8; j += 2) {
    t[j] = _mm256_unpacklo_ps(r[j], r[j + 1]);
    t[j + 1] = _mm256_unpackhi_ps(r[j], r[j + 1]);
  }
#pragma GCC unroll 8
  for (int j = 0; j < 8; j += 4) {
    r[j] = _mm256_shuffle_ps(t[j], t[j + 2], 0x44);
    r[j + 1] = _mm256_shuffle_ps(t[j], t[j + 2], 0xee);
    r[j + 2] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0x44);
    r[j + 3] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0xee);
  }
#pragma GCC unroll 8
  for (int q = 0; q < 4; ++q) {
    t[q] = _mm256_permute2f128_ps(r[q], r[q + 4], 0x20);
    t[q + 4] = _mm256_permute2f128_ps(r[q], r[q + 4], 0x31);
  }
#pragma GCC unroll 8
  for (int c = 0; c < 8; ++c) {
    const __m256 v = bias ? _mm256_add_ps(t[c], _mm256_set1_ps(bias[c])) : t[c];
    _mm256_storeu_ps(y + c * ldy, v);
  }
}

// Input channels per block of the AVX2 channel kernel: a panel of a tile's weights (64 x 16
// floats, 4 KB) and the block's positions (64 rows of p floats: 12.5 KB at 7 x 7) stay in a
// 32 KB L1 cache while every position tile passes over them.
constexpr int64_t kBlockKAvx2 = 64;
// Position tiles per chunk: past 7 x 7, the block's positions pass by in chunks of up to 9
// tiles (54 positions, 13.5 KB of a block), each held in the L1 cache while the tiles of 16
// channels pass over it.
constexpr int64_t kChunkTilesAvx2 = 9;

// The channel kernel on AVX2 (tile_channels_avx2), wt laid out by tiled_weight_avx2: per block
// of input channels, each tile of 16 output channels passes over all positions with its panel
// of weights held in the L1 cache, so each weight is read from memory once per call. (Tiles of
// 32 channels by 3 positions, every tile's weights passing by for each position tile as in
// run_channels, waited on the L2 cache: on a Zen 3 core ResNet-50's 7 x 7 layers ran at 35
// GFLOP/s, 0.75-0.85x oneDNN; its campaigns spent 63% of their time in that tile. Tiles of 32
// channels by 3 positions in this loop, whose broadcasts feed 4 multiply-adds instead of 2, ran
// 60-73 GFLOP/s against 48-55 with every operand in the L1 cache, but a ResNet-50 campaign's
// windows, a few positions each, went slower: 28.5-30.3 against 30.3-33.1 trials/s, 1 thread,
// three alternating pairs.)
void run_channels_avx2(const float* px, const float* wt, const float* pb, float* py, int64_t n,
                       int64_t cin, int64_t cout, int64_t p) {
  // Positions in near-equal tiles of at most 6 (49: 9 tiles of 5 or 6).
  const int64_t pos_tiles = (p + kPositionTileAvx2 - 1) / kPositionTileAvx2;
  const int64_t chan_blocks = (cout + kBlockChannels - 1) / kBlockChannels;
  const int64_t block_channels = whole_tiles(cout, chan_blocks, kChannelTileAvx2);
  const int64_t tasks = chan_blocks * n;
  fg::parallel_for(0, tasks, grain_for(kBlockChannels * p * cin), [&](int64_t t0, int64_t t1) {
    std::vector<float> sums(static_cast<size_t>(p * kBlockChannels));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t cb = t / n, s = t % n;
      const int64_t c0 = cb * block_channels, c1 = std::min(cout, c0 + block_channels);
      const float* xs = px + s * cin * p;
      for (int64_t k0 = 0; k0 < cin; k0 += kBlockKAvx2) {
        const int64_t k1 = std::min(cin, k0 + kBlockKAvx2);
        for (int64_t q0 = 0; q0 < pos_tiles; q0 += kChunkTilesAvx2) {
          const int64_t q1 = std::min(pos_tiles, q0 + kChunkTilesAvx2);
          for (int64_t c = c0; c < c1; c += kChannelTileAvx2) {
            const float* panel = wt + c * cin;
            // The first position tile fetches the panel that comes next into the L1 cache,
            // a line an input channel: the next tile's, else the block's first tile's (the
            // next chunk's, or the next block of input channels'). A panel is 4 KB apart from
            // the next, which the hardware prefetcher does not guess: a window of a few
            // positions, which uses each weight a few times, waited on every panel.
            const float* next = nullptr;
            if (c + kChannelTileAvx2 < c1) {
              next = wt + (c + kChannelTileAvx2) * cin + k0 * kChannelTileAvx2;
            } else if (q1 < pos_tiles) {
              next = wt + c0 * cin + k0 * kChannelTileAvx2;
            } else if (k1 < cin) {
              next = wt + c0 * cin + k1 * kChannelTileAvx2;
            }
            for (int64_t q = q0; q < q1; ++q) {
              const int64_t p0 = q * p / pos_tiles, np = (q + 1) * p / pos_tiles - p0;
              kChannelTilesAvx2[static_cast<size_t>(np - 1)](
                  xs + p0, p, panel, k0, k1, sums.data() + p0 * kBlockChannels + (c - c0),
                  kBlockChannels, q == q0 ? next : nullptr);
            }
          }
        }
      }
      // The sums to y, the bias added (the same rounding as tile_avx512's vector add): 8 x 8
      // blocks transposed in registers, the edges element by element.
      float* ys = py + s * cout * p;
      const int64_t p8 = p / 8 * 8;
      for (int64_t c = c0; c < c1; ++c) {
        const float* col = sums.data() + (c - c0);
        float* yr = ys + c * p;
        // Channels of a whole block of 8 take only the positions past the blocks.
        const int64_t from = c0 + (c - c0) / 8 * 8 + 8 <= c1 ? p8 : 0;
        for (int64_t j = from; j < p; ++j) {
          const float v = col[j * kBlockChannels];
          yr[j] = pb ? v + pb[c] : v;
        }
      }
      for (int64_t c = c0; c + 8 <= c1; c += 8) {
        for (int64_t j = 0; j < p8; j += 8) {
          sums_to_rows_avx2(sums.data() + j * kBlockChannels + (c - c0), kBlockChannels,
                            pb ? pb + c : nullptr, ys + c * p + j, p);
        }
      }
    }
  });
}

// The share of vector lanes a kernel fills: positions across lanes (tiles of 16), or output
// channels across lanes (tiles of `tile`: 32 on AVX-512, 16 on AVX2).
double position_lanes(int64_t p) {
  return static_cast<double>(p) / static_cast<double>(16 * ((p + 15) / 16));
}
// The AVX2 position tiles: parts of 16 positions, the last of up to 8 as one vector.
double position_lanes_avx2(int64_t p) {
  const int64_t last = p % 16;
  const int64_t lanes = 16 * (p / 16) + (last == 0 ? 0 : last <= 8 ? 8 : 16);
  return static_cast<double>(p) / static_cast<double>(lanes);
}
double channel_lanes(int64_t cout, int64_t tile) {
  return static_cast<double>(cout) / static_cast<double>(tile * ((cout + tile - 1) / tile));
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
  const bool avx512 = (kernel == PointwiseKernel::kBest || kernel == PointwiseKernel::kPositions ||
                       kernel == PointwiseKernel::kChannels) &&
                      has_avx512();
  const bool avx2 = !avx512 && kernel != PointwiseKernel::kPortable && has_avx2_fma();
  const Isa isa = avx512 ? Isa::kAvx512 : avx2 ? Isa::kAvx2 : Isa::kPortable;
  // Output channels across the lanes where positions would leave many lanes empty (measured
  // on the 1x1 layers of ResNet-50 and MobileNetV2: faster at 7 x 7, slower at 14 x 14, whose
  // lanes are 94% full, and where the input has few channels), and, where the channel tiles
  // are nearly full, also for fewer than 64 positions or position lanes under 95% full: there
  // the channel kernel's fetch of the next weights ahead wins when the weights come from
  // memory, as in a campaign's windows (1 thread, weights cycling through 96 MB, ResNet-50's
  // 1x1 shapes: 4 x 4 positions 58 vs 97 us, 6 x 7 129 vs 158, 10 x 10 277 vs 324; 8 x 8 and
  // 12 x 12 even; ResNet-50 campaign 79 -> 86 trials/s, MobileNetV2 and InceptionV3 within
  // noise).
  // On AVX2 (Zen 1, 1 thread, batch 1) the channel tiles, then 4 vectors by 3 positions, ran
  // ResNet-50's whole 7 x 7 and 14 x 14 1x1 layers at 32-37 GFLOP/s, 0.85-1.04x oneDNN, where
  // the 6 x 16 position tiles ran 24-30 (a 7 x 7 layer is 3 parts of 16 and one of 1; a
  // 3 x 3 window fills 9 of 16 lanes). On a Zen 3 core the channel tiles of 2 vectors by 6
  // positions (run_channels_avx2) beat the position tiles from 9 to 784 positions in a row
  // (bench/pointwise_bench, cold: 1.1-1.6x on 512 and 4608 input channels; even at 784), so
  // they take every shape up to 28 x 28 whose channel tiles are nearly full, and, past it,
  // shapes whose position tiles would be under 85% full.
  const double pl = avx512 ? position_lanes(p) : position_lanes_avx2(p);
  const double cl = channel_lanes(cout, avx512 ? kChannelTile : kChannelTileAvx2);
  const bool best_channels =
      avx512 ? (pl < 0.85 && cl > pl + 0.05) || ((pl < 0.95 || p < 64) && cl >= 0.9)
             : (p <= 784 && cl >= 0.9) || (pl < 0.85 && cl > pl + 0.05);
  const bool channels = (avx512 || avx2) && (kernel == PointwiseKernel::kChannels ||
                                             kernel == PointwiseKernel::kAvx2Channels ||
                                             (kernel == PointwiseKernel::kBest && best_channels));
  if (channels && avx512) {
    const at::Tensor wt = tiled_weight(w);
    run_channels(px, wt.data_ptr<float>(), pb, py, n, cin, cout, p);
  } else if (channels) {
    const at::Tensor wt = tiled_weight_avx2(w);
    run_channels_avx2(px, wt.data_ptr<float>(), pb, py, n, cin, cout, p);
  } else {
    run_positions(px, pw, pb, py, n, cin, cout, p, isa);
  }
  return y;
}

namespace {
namespace im2col_impl {
int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// x N x C x H x W -> N x (C kh kw) x oh x ow: row (c, a, b) holds input channel c at row
// i sh - ph + a dh, column j sw - pw + b dw for output position (i, j), and 0 outside the
// input (the padding: a multiply-add of +0 or -0 leaves a sum as it was, as in the layer).
at::Tensor im2col(const at::Tensor& x_in, int64_t kh, int64_t kw, at::IntArrayRef strides,
                  at::IntArrayRef pad_begin, at::IntArrayRef dilations, int64_t oh, int64_t ow) {
  const at::Tensor x = x_in.contiguous();
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
  const int64_t sh = strides[0], sw = strides[1], dh = dilations[0], dw = dilations[1];
  at::Tensor col = at::empty({n, c * kh * kw, oh, ow}, x.options());
  const float* src = x.data_ptr<float>();
  float* dst = col.data_ptr<float>();
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, kh * kw * oh * ow));
  fg::parallel_for(0, n * c, grain, [&](int64_t p0, int64_t p1) {
    for (int64_t plane = p0; plane < p1; ++plane) {
      const float* in = src + plane * h * wd;
      float* out = dst + plane * kh * kw * oh * ow;
      for (int64_t a = 0; a < kh; ++a) {
        for (int64_t b = 0; b < kw; ++b, out += oh * ow) {
          // Output columns j0 <= j < j1 read inside the input: 0 <= j sw + off < wd.
          const int64_t off = b * dw - pad_begin[1];
          const int64_t j1 = std::clamp<int64_t>(floor_div(wd - 1 - off, sw) + 1, 0, ow);
          const int64_t j0 = std::clamp<int64_t>(-floor_div(off, sw), 0, j1);
          if (sw == 1 && sh == 1 && ow == wd) {
            // Rows as long as the input's (a "same" convolution, stride 1): the rows that read
            // inside it are one shifted run of the plane, its ends clipped to the plane, then
            // the columns outside [j0, j1) set to 0 (per row: a copy each cost more than the
            // GEMM's tenth).
            const int64_t shift = a * dh - pad_begin[0];  // output row i reads input row i + shift
            const int64_t i0 = std::clamp<int64_t>(-shift, 0, oh);
            const int64_t i1 = std::clamp<int64_t>(h - shift, i0, oh);
            std::fill(out, out + i0 * ow, 0.0F);
            std::fill(out + i1 * ow, out + oh * ow, 0.0F);
            if (i0 < i1) {
              // out[i ow + j] = in[(i + shift) wd + j + off], for i0 <= i < i1, all j.
              int64_t first = i0 * ow, last = i1 * ow;  // out positions
              const int64_t delta = shift * wd + off;   // in index - out index
              first = std::max(first, -delta);
              last = std::min(last, h * wd - delta);
              if (first < last) std::copy(in + first + delta, in + last + delta, out + first);
              for (int64_t i = i0; i < i1; ++i) {
                float* row = out + i * ow;
                for (int64_t j = 0; j < j0; ++j) row[j] = 0.0F;
                for (int64_t j = j1; j < ow; ++j) row[j] = 0.0F;
              }
            }
            continue;
          }
          for (int64_t i = 0; i < oh; ++i) {
            float* row = out + i * ow;
            const int64_t y = i * sh - pad_begin[0] + a * dh;
            if (y < 0 || y >= h) {
              std::fill(row, row + ow, 0.0F);
              continue;
            }
            const float* line = in + y * wd;  // column j reads line[j sw + off]
            std::fill(row, row + j0, 0.0F);
            if (sw == 1) {
              std::copy(line + j0 + off, line + j1 + off, row + j0);
            } else {
              for (int64_t j = j0; j < j1; ++j) row[j] = line[j * sw + off];
            }
            std::fill(row + j1, row + ow, 0.0F);
          }
        }
      }
    }
  });
  return col;
}
}  // namespace im2col_impl
}  // namespace

std::optional<at::Tensor> im2col_conv(const at::Tensor& x, const at::Tensor& w,
                                      const at::Tensor& bias, at::IntArrayRef strides,
                                      at::IntArrayRef pad_begin, at::IntArrayRef dilations,
                                      int64_t oh, int64_t ow) {
  const bool grads = at::GradMode::is_enabled() && (x.requires_grad() || w.requires_grad() ||
                                                    (bias.defined() && bias.requires_grad()));
  if (grads || x.scalar_type() != at::kFloat || w.scalar_type() != at::kFloat || x.dim() != 4 ||
      w.dim() != 4 || w.size(1) != x.size(1) || !x.device().is_cpu() || !w.device().is_cpu() ||
      strides.size() != 2 || pad_begin.size() != 2 || dilations.size() != 2 || oh < 0 || ow < 0)
    return std::nullopt;
  const at::Tensor wv = w.reshape({w.size(0), w.size(1) * w.size(2) * w.size(3), 1, 1});
  if (bias.defined() && (bias.scalar_type() != at::kFloat || bias.dim() != 1 ||
                         bias.size(0) != w.size(0) || bias.requires_grad()))
    return std::nullopt;
  return pointwise_conv(
      im2col_impl::im2col(x, w.size(2), w.size(3), strides, pad_begin, dilations, oh, ow), wv,
      bias);
}

std::optional<std::vector<at::Tensor>> pointwise_conv_many(const std::vector<at::Tensor>& xs,
                                                           const at::Tensor& w,
                                                           const at::Tensor& bias) {
  if (xs.empty()) return std::vector<at::Tensor>{};
  int64_t total = 0;
  for (const at::Tensor& x : xs) {
    if (!pointwise_conv_applies(x, w, bias) || x.size(0) != 1) return std::nullopt;
    total += x.size(2) * x.size(3);
  }
  const int64_t cin = w.size(1), cout = w.size(0);
  // The inputs' positions side by side: one sample of 1 x total positions.
  at::Tensor joined = at::empty({1, cin, 1, total}, xs[0].options());
  int64_t off = 0;
  for (const at::Tensor& x : xs) {
    const int64_t h = x.size(2), wd = x.size(3);
    joined.narrow(3, off, h * wd).view({1, cin, h, wd}).copy_(x);
    off += h * wd;
  }
  const at::Tensor y = pointwise_conv(joined, w, bias);
  std::vector<at::Tensor> out;
  off = 0;
  for (const at::Tensor& x : xs) {
    const int64_t h = x.size(2), wd = x.size(3);
    out.push_back(y.narrow(3, off, h * wd).reshape({1, cout, h, wd}).contiguous());
    off += h * wd;
  }
  return out;
}

std::optional<std::vector<at::Tensor>> im2col_conv_many(
    const std::vector<at::Tensor>& xs, const at::Tensor& w, const at::Tensor& bias,
    at::IntArrayRef strides, at::IntArrayRef dilations,
    const std::vector<std::pair<int64_t, int64_t>>& out) {
  const bool grads =
      at::GradMode::is_enabled() && (w.requires_grad() || (bias.defined() && bias.requires_grad()));
  if (grads || xs.size() != out.size() || w.scalar_type() != at::kFloat || w.dim() != 4 ||
      strides.size() != 2 || dilations.size() != 2)
    return std::nullopt;
  std::vector<at::Tensor> cols;
  const std::array<int64_t, 2> zero{0, 0};
  for (size_t i = 0; i < xs.size(); ++i) {
    const at::Tensor& x = xs[i];
    if (x.scalar_type() != at::kFloat || x.dim() != 4 || x.size(1) != w.size(1) ||
        x.requires_grad() || out[i].first < 0 || out[i].second < 0)
      return std::nullopt;
    cols.push_back(im2col_impl::im2col(x, w.size(2), w.size(3), strides, zero, dilations,
                                       out[i].first, out[i].second));
  }
  const at::Tensor wv = w.reshape({w.size(0), w.size(1) * w.size(2) * w.size(3), 1, 1});
  return pointwise_conv_many(cols, wv, bias);
}

}  // namespace fg::ops
