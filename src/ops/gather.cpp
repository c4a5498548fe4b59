// Gather along `axis`: output = data.shape[:axis] + indices.shape + data.shape[axis+1:];
// negative indices count from the end.
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace gather_op {
int64_t axis_of(const OpContext& ctx) {
  FG_CHECK(ctx.in[0].rank_known, ShapeError, ctx.where(), ": data rank must be known");
  return normalize_axis(ctx, ctx.attrs().get_int("axis", 0), ctx.in[0].rank());
}

std::vector<TensorInfo> infer(const OpContext& ctx) {
  int64_t axis = axis_of(ctx);
  const TensorInfo& data = ctx.in[0];
  const TensorInfo& idx = ctx.in[1];
  FG_CHECK(idx.dtype == DType::kInt64 || idx.dtype == DType::kInt32, ShapeError, ctx.where(),
           ": indices must be int32 or int64");
  if (!idx.rank_known) return {unknown_rank(data.dtype)};
  Shape out(data.shape.begin(), data.shape.begin() + axis);
  out.insert(out.end(), idx.shape.begin(), idx.shape.end());
  out.insert(out.end(), data.shape.begin() + axis + 1, data.shape.end());
  return {make_info(data.dtype, out)};
}

Kernel prepare(const OpContext& ctx) {
  int64_t axis = axis_of(ctx);
  return [axis](KernelArgs& a) {
    const at::Tensor& data = a.in[0];
    at::Tensor idx = a.in[1].to(at::kLong);
    int64_t n = data.size(axis);
    idx = at::where(idx < 0, idx + n, idx);
    TORCH_CHECK(
        idx.numel() == 0 || (idx.min().item<int64_t>() >= 0 && idx.max().item<int64_t>() < n),
        "index out of range for dim of size ", n);
    at::Tensor picked = at::index_select(data, axis, idx.reshape({-1}));
    auto shape = data.sizes().vec();
    shape.erase(shape.begin() + axis);
    shape.insert(shape.begin() + axis, idx.sizes().begin(), idx.sizes().end());
    a.out[0] = picked.reshape(shape);
  };
}
}  // namespace gather_op
}  // namespace

extern const OpDef kGather{OpKind::kGather,  "Gather",           2,       2,   1, 1,
                           gather_op::infer, gather_op::prepare, nullptr, true};
}  // namespace fg::ops
