// Where: condition ? x : y elementwise, the three inputs broadcast together.
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace where_op {
std::vector<TensorInfo> infer(const OpContext& ctx) {
  const TensorInfo& c = ctx.in[0];
  const TensorInfo& x = ctx.in[1];
  const TensorInfo& y = ctx.in[2];
  FG_CHECK(c.dtype == DType::kBool || c.dtype == DType::kUndefined, ShapeError, ctx.where(),
           ": condition must be bool, not ", dtype_name(c.dtype));
  FG_CHECK(x.dtype == y.dtype || x.dtype == DType::kUndefined || y.dtype == DType::kUndefined,
           ShapeError, ctx.where(), ": inputs 1 and 2 have different element types (",
           dtype_name(x.dtype), " and ", dtype_name(y.dtype), ")");
  DType t = x.dtype != DType::kUndefined ? x.dtype : y.dtype;
  if (!c.rank_known || !x.rank_known || !y.rank_known) return {unknown_rank(t)};
  return {make_info(t, broadcast_shapes(ctx, broadcast_shapes(ctx, c.shape, x.shape), y.shape))};
}

Kernel prepare(const OpContext&) {
  return [](KernelArgs& a) { a.out[0] = at::where(a.in[0], a.in[1], a.in[2]); };
}
}  // namespace where_op
}  // namespace

extern const OpDef kWhere{OpKind::kWhere,
                          "Where",
                          3,
                          3,
                          1,
                          1,
                          where_op::infer,
                          where_op::prepare,
                          nullptr,
                          false,
                          elementwise_region_of<where_op::prepare>};
}  // namespace fg::ops
