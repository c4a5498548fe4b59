// MatMul: numpy matmul semantics (1-d operands promoted, batch dims broadcast).
#include "ops/common.h"

namespace fg::ops {
namespace {
std::vector<TensorInfo> infer(const OpContext& ctx) {
  const TensorInfo& a = ctx.in[0];
  const TensorInfo& b = ctx.in[1];
  if (!a.rank_known || !b.rank_known) return {unknown_rank(a.dtype)};
  FG_CHECK(a.rank() >= 1 && b.rank() >= 1, ShapeError, ctx.where(),
           ": operands must not be scalars");
  Shape sa = a.shape, sb = b.shape;
  if (sa.size() == 1) sa.insert(sa.begin(), 1);
  if (sb.size() == 1) sb.push_back(1);
  int64_t ka = sa.back(), kb = sb[sb.size() - 2];
  FG_CHECK(ka < 0 || kb < 0 || ka == kb, ShapeError, ctx.where(), ": inner dims differ (", ka,
           " vs ", kb, ")");
  Shape batch =
      broadcast_shapes(ctx, Shape(sa.begin(), sa.end() - 2), Shape(sb.begin(), sb.end() - 2));
  Shape out = batch;
  if (a.rank() > 1) out.push_back(sa[sa.size() - 2]);
  if (b.rank() > 1) out.push_back(sb.back());
  return {make_info(a.dtype, out)};
}

Kernel prepare(const OpContext&) {
  return [](KernelArgs& a) { a.out[0] = at::matmul(a.in[0], a.in[1]); };
}

int64_t flops(const OpContext& ctx, std::span<const TensorInfo> out) {
  const TensorInfo& a = ctx.in[0];
  if (!a.shape_known() || out[0].numel() < 0) return -1;
  return 2 * out[0].numel() * a.shape.back();
}
}  // namespace

extern const OpDef kMatMul{OpKind::kMatMul, "MatMul", 2, 2, 1, 1, infer, prepare, flops, false};
}  // namespace fg::ops
