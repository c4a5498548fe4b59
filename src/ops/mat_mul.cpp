// MatMul: numpy matmul semantics (1-d operands promoted, batch dims broadcast).
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace mat_mul_op {
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
  return saturating_mul(saturating_mul(2, out[0].numel()), a.shape.back());
}
// Operands of rank >= 2: a change in rows of A reaches those rows of the output (every
// column), a change in columns of B those columns (every row); batch dims map to
// themselves (a broadcast batch dim of size 1: every output position along it).
std::optional<Region> region(const OpContext& ctx) {
  const TensorInfo& a = ctx.in[0];
  const TensorInfo& b = ctx.in[1];
  if (!a.shape_known() || !b.shape_known() || a.rank() < 2 || b.rank() < 2) return std::nullopt;
  Shape sa = a.shape, sb = b.shape;
  Shape so = infer(ctx)[0].shape;
  const size_t ro = so.size();
  // Output dim of input dim `di` of an operand of rank r (batch dims right-aligned).
  auto out_dim = [ro](size_t r, size_t di) { return di + (ro - r); };
  Region reg;
  reg.reach = [sa, sb, so, ro, out_dim](size_t i, const Box& bx) -> std::optional<Box> {
    const Shape& s = i == 0 ? sa : sb;
    Box o = Box::whole(so);
    for (size_t di = 0; di + 2 < s.size(); ++di) {
      size_t d = out_dim(s.size(), di);
      if (s[di] == 1 && so[d] != 1) continue;  // broadcast: every position
      o.lo[d] = bx.lo[di];
      o.hi[d] = bx.hi[di];
    }
    size_t own = i == 0 ? s.size() - 2 : s.size() - 1;  // A: rows; B: columns
    size_t d = i == 0 ? ro - 2 : ro - 1;
    o.lo[d] = bx.lo[own];
    o.hi[d] = bx.hi[own];
    return o;
  };
  reg.compute = [sa, sb, ro, out_dim](const std::vector<WindowInput>& in, const Box& ob) {
    auto operand = [&](const WindowInput& w, const Shape& s, bool is_a) {
      Box p = Box::whole(s);
      for (size_t di = 0; di + 2 < s.size(); ++di) {
        size_t d = out_dim(s.size(), di);
        if (s[di] == 1) continue;
        p.lo[di] = ob.lo[d];
        p.hi[di] = ob.hi[d];
      }
      size_t own = is_a ? s.size() - 2 : s.size() - 1;
      size_t d = is_a ? ro - 2 : ro - 1;
      p.lo[own] = ob.lo[d];
      p.hi[own] = ob.hi[d];
      return w.part(p);
    };
    return at::matmul(operand(in[0], sa, true), operand(in[1], sb, false));
  };
  reg.exact = false;  // BLAS sums a smaller product in another order
  return reg;
}
}  // namespace mat_mul_op
}  // namespace

extern const OpDef kMatMul{OpKind::kMatMul,
                           "MatMul",
                           2,
                           2,
                           1,
                           1,
                           mat_mul_op::infer,
                           mat_mul_op::prepare,
                           mat_mul_op::flops,
                           false,
                           mat_mul_op::region};
}  // namespace fg::ops
