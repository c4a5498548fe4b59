// Gemm: Y = alpha * A' * B' + beta * C with A' = transA ? A^T : A (same for B); A and B
// are 2-d, C broadcasts to M x N. The common Linear form (transB = 1, alpha = beta = 1,
// 1-d C) runs faultgraph's own dot products on float inference (below), else ATen's linear,
// the same kernel as PyTorch's nn.Linear.
#include <ATen/core/grad_mode.h>

#include <algorithm>

#include "core/parallel.h"
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace gemm_op {
struct GemmParams {
  double alpha, beta;
  bool trans_a, trans_b;
};

GemmParams parse(const OpContext& ctx) {
  return {ctx.attrs().get_float("alpha", 1.0), ctx.attrs().get_float("beta", 1.0),
          ctx.attrs().get_int("transA", 0) != 0, ctx.attrs().get_int("transB", 0) != 0};
}

std::vector<TensorInfo> infer(const OpContext& ctx) {
  GemmParams p = parse(ctx);
  const TensorInfo& a = input_with_rank(ctx, 0, 2);
  const TensorInfo& b = input_with_rank(ctx, 1, 2);
  int64_t m = a.rank_known ? a.shape[p.trans_a ? 1 : 0] : kUnknownDim;
  int64_t ka = a.rank_known ? a.shape[p.trans_a ? 0 : 1] : kUnknownDim;
  int64_t kb = b.rank_known ? b.shape[p.trans_b ? 1 : 0] : kUnknownDim;
  int64_t n = b.rank_known ? b.shape[p.trans_b ? 0 : 1] : kUnknownDim;
  FG_CHECK(ka < 0 || kb < 0 || ka == kb, ShapeError, ctx.where(), ": A has ", ka,
           " columns but B has ", kb, " rows (after transA/transB)");
  if (ctx.has_input(2) && ctx.in[2].rank_known) {
    broadcast_shapes(ctx, {m, n}, ctx.in[2].shape);
  }
  return {make_info(a.dtype, {m, n})};
}

constexpr int64_t kLanes = 16;
constexpr int64_t kRows = 4;

// Sums of x_r[i] * w[i] for up to kRows rows x_r (ldx apart), into out[r]: per row, 16
// partial sums (i mod 16) added in a fixed tree; products and sums rounded separately (never
// contracted to fused multiply-adds), so every CPU, clone, row, batch size and thread count
// gives the same bits. Zero-padded tails add +0 * +0 to sums that started at +0, which
// changes nothing.
__attribute__((target_clones("avx512f", "avx2", "default"), optimize("fp-contract=off"))) void
dot_rows(const float* x, int64_t ldx, int64_t rows, const float* w, int64_t k, float* out) {
  float acc[kRows][kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= k; i += kLanes) {
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < kLanes; ++j) acc[r][j] += x[r * ldx + i + j] * w[i + j];
    }
  }
  float wt[kLanes] = {};
  std::copy(w + i, w + k, wt);
  for (int64_t r = 0; r < rows; ++r) {
    float xt[kLanes] = {};
    std::copy(x + r * ldx + i, x + r * ldx + k, xt);
    for (int64_t j = 0; j < kLanes; ++j) acc[r][j] += xt[j] * wt[j];
    for (int64_t half = kLanes / 2; half > 0; half /= 2) {
      for (int64_t j = 0; j < half; ++j) acc[r][j] += acc[r][j + half];
    }
    out[r] = acc[r][0];
  }
}

// The sums of dot_rows for one row x and kRows weight rows (ldw apart), into out[c]: the
// same order per output, bit for bit, in kRows independent chains of additions instead of
// one (the classifier head at batch 1, where one chain's add latency bound the sums).
__attribute__((target_clones("avx512f", "avx2", "default"), optimize("fp-contract=off"))) void
dot_cols(const float* x, const float* w, int64_t ldw, int64_t k, float* out) {
  float acc[kRows][kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= k; i += kLanes) {
    for (int64_t c = 0; c < kRows; ++c) {
      for (int64_t j = 0; j < kLanes; ++j) acc[c][j] += x[i + j] * w[c * ldw + i + j];
    }
  }
  float xt[kLanes] = {};
  std::copy(x + i, x + k, xt);
  for (int64_t c = 0; c < kRows; ++c) {
    float wt[kLanes] = {};
    std::copy(w + c * ldw + i, w + c * ldw + k, wt);
    for (int64_t j = 0; j < kLanes; ++j) acc[c][j] += xt[j] * wt[j];
    for (int64_t half = kLanes / 2; half > 0; half /= 2) {
      for (int64_t j = 0; j < half; ++j) acc[c][j] += acc[c][j + half];
    }
    out[c] = acc[c][0];
  }
}

// x (M x K) times w (N x K) transposed, plus b (N) when given. Blocks of weight rows that
// stay in cache while the rows of x pass over them, kRows at a time: the weight is read
// from memory once (a classifier head at batch 1, where OpenBLAS's sgemm first packed the
// whole matrix: 5% of a MobileNetV2 campaign).
at::Tensor linear_float(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  const int64_t m = x.size(0), k = x.size(1), n = w.size(0);
  at::Tensor xc = x.contiguous();
  at::Tensor y = at::empty({m, n}, x.options());
  const float* px = xc.data_ptr<float>();
  const float* pw = w.data_ptr<float>();
  const float* pb = b.defined() ? b.data_ptr<float>() : nullptr;
  float* py = y.data_ptr<float>();
  // About 128 KiB of weight rows per block.
  const int64_t block = std::clamp<int64_t>(32768 / std::max<int64_t>(k, 1), 1, 256);
  const int64_t blocks = (n + block - 1) / block;
  fg::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    float out[kRows];
    for (int64_t j0 = b0 * block; j0 < std::min(n, b1 * block); j0 += block) {
      const int64_t j1 = std::min(n, j0 + block);
      for (int64_t i = 0; i < m; i += kRows) {
        const int64_t rows = std::min(kRows, m - i);
        int64_t j = j0;
        for (; rows == 1 && j + kRows <= j1; j += kRows) {
          dot_cols(px + i * k, pw + j * k, k, k, out);
          for (int64_t c = 0; c < kRows; ++c) py[i * n + j + c] = pb ? out[c] + pb[j + c] : out[c];
        }
        for (; j < j1; ++j) {
          dot_rows(px + i * k, k, rows, pw + j * k, k, out);
          for (int64_t r = 0; r < rows; ++r) py[(i + r) * n + j] = pb ? out[r] + pb[j] : out[r];
        }
      }
    }
  });
  return y;
}

// Float inference on a contiguous weight and bias, no autograd, at most 2 x kRows rows (a
// campaign's trials, one at a time or a few variants batched): linear_float applies. Larger
// batches (evaluation) run OpenBLAS, faster there; its rows' bits depend on the batch
// anyway (checked: a row alone and in a batch of 64 differ).
bool own_linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  const bool types = x.scalar_type() == at::kFloat && w.scalar_type() == at::kFloat &&
                     (!b.defined() || (b.scalar_type() == at::kFloat && b.is_contiguous()));
  const bool grad = at::GradMode::is_enabled() &&
                    (x.requires_grad() || w.requires_grad() || (b.defined() && b.requires_grad()));
  return types && !grad && x.dim() == 2 && x.size(0) <= 2 * kRows && w.dim() == 2 &&
         w.is_contiguous() && x.size(1) == w.size(1) &&
         (!b.defined() || (b.dim() == 1 && b.size(0) == w.size(0)));
}

Kernel prepare(const OpContext& ctx) {
  GemmParams p = parse(ctx);
  bool has_c = ctx.has_input(2);
  bool linear = !p.trans_a && p.trans_b && p.alpha == 1.0 && p.beta == 1.0 &&
                (!has_c || (ctx.in[2].rank_known && ctx.in[2].rank() == 1));
  if (linear) {
    return [has_c](KernelArgs& a) {
      at::Tensor bias = has_c ? a.in[2] : at::Tensor();
      a.out[0] = own_linear(a.in[0], a.in[1], bias) ? linear_float(a.in[0], a.in[1], bias)
                                                    : at::linear(a.in[0], a.in[1], bias);
    };
  }
  return [p, has_c](KernelArgs& a) {
    at::Tensor x = p.trans_a ? a.in[0].t() : a.in[0];
    at::Tensor w = p.trans_b ? a.in[1].t() : a.in[1];
    if (has_c && p.beta != 0.0) {
      at::Tensor c = a.in[2].expand({x.size(0), w.size(1)});
      a.out[0] = at::addmm(c, x, w, p.beta, p.alpha);
    } else {
      a.out[0] = p.alpha == 1.0 ? at::mm(x, w) : at::mm(x, w).mul_(p.alpha);
    }
  };
}

int64_t flops(const OpContext& ctx, std::span<const TensorInfo> out) {
  const TensorInfo& a = ctx.in[0];
  if (!a.shape_known() || out[0].numel() < 0) return -1;
  int64_t k = a.shape[ctx.attrs().get_int("transA", 0) != 0 ? 0 : 1];
  return saturating_mul(out[0].numel(),
                        saturating_add(saturating_mul(2, k), ctx.has_input(2) ? 1 : 0));
}
}  // namespace gemm_op
}  // namespace

extern const OpDef kGemm{OpKind::kGemm,    "Gemm",         2,    3, 1, 1, gemm_op::infer,
                         gemm_op::prepare, gemm_op::flops, false};
}  // namespace fg::ops
