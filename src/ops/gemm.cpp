// Gemm: Y = alpha * A' * B' + beta * C with A' = transA ? A^T : A (same for B); A and B
// are 2-d, C broadcasts to M x N. The common Linear form (transB = 1, alpha = beta = 1,
// 1-d C) runs ATen's linear, the same kernel as PyTorch's nn.Linear.
#include "ops/common.h"

namespace fg::ops {
namespace {
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

Kernel prepare(const OpContext& ctx) {
  GemmParams p = parse(ctx);
  bool has_c = ctx.has_input(2);
  bool linear = !p.trans_a && p.trans_b && p.alpha == 1.0 && p.beta == 1.0 &&
                (!has_c || (ctx.in[2].rank_known && ctx.in[2].rank() == 1));
  if (linear) {
    return [has_c](KernelArgs& a) {
      a.out[0] = at::linear(a.in[0], a.in[1], has_c ? a.in[2] : at::Tensor());
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
}  // namespace

extern const OpDef kGemm{OpKind::kGemm, "Gemm", 2, 3, 1, 1, infer, prepare, flops, false};
}  // namespace fg::ops
