// Expand: broadcast the input to `shape` (input 1), numpy-style in both directions: a 1 in
// `shape` keeps the input's dim. The result is a tensor of its own (never a stride-0 view,
// which a fault in one element would change everywhere).
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace expand_op {
std::vector<TensorInfo> infer(const OpContext& ctx) {
  const TensorInfo& x = ctx.in[0];
  const TensorInfo& s = ctx.in[1];
  FG_CHECK(s.dtype == DType::kInt64 || s.dtype == DType::kUndefined, ShapeError, ctx.where(),
           ": shape must be int64");
  FG_CHECK(!s.rank_known || s.rank() == 1, ShapeError, ctx.where(), ": shape must be 1-d");
  if (auto shape = const_ints(ctx, 1)) {
    for (int64_t d : *shape) {
      FG_CHECK(d >= 0, ShapeError, ctx.where(), ": shape has a negative dim (", d, ")");
    }
    if (!x.rank_known) return {unknown_rank(x.dtype)};
    return {make_info(x.dtype, broadcast_shapes(ctx, x.shape, *shape))};
  }
  if (!x.rank_known || !s.shape_known()) return {unknown_rank(x.dtype)};
  int64_t rank = std::max(x.rank(), s.shape[0]);
  return {make_info(x.dtype, Shape(static_cast<size_t>(rank), kUnknownDim))};
}

Kernel prepare(const OpContext& ctx) {
  std::string where = ctx.where();
  return [where](KernelArgs& a) {
    const at::Tensor& x = a.in[0];
    std::vector<int64_t> shape = tensor_to_ints(a.in[1]);
    size_t rank = std::max<size_t>(x.dim(), shape.size());
    std::vector<int64_t> out(rank);
    for (size_t i = 0; i < rank; ++i) {
      int64_t dx = i < rank - x.dim() ? 1 : x.size(static_cast<int64_t>(i - (rank - x.dim())));
      int64_t ds = i < rank - shape.size() ? 1 : shape[i - (rank - shape.size())];
      FG_CHECK(ds >= 0, ShapeError, where, ": shape has a negative dim (", ds, ")");
      FG_CHECK(dx == ds || dx == 1 || ds == 1, ShapeError, where, ": cannot expand dim ", dx,
               " to ", ds);
      out[i] = dx == 1 ? ds : dx;
    }
    check_fits_in_memory(where, out, x.element_size());
    a.out[0] = x.expand(out).contiguous();
  };
}
}  // namespace expand_op
}  // namespace

extern const OpDef kExpand{OpKind::kExpand,  "Expand",           2,       2,   1, 1,
                           expand_op::infer, expand_op::prepare, nullptr, true};
}  // namespace fg::ops
