// GlobalMaxPool: maximum over the spatial dims; output N x C x 1 x ... x 1.
#include "ops/common.h"

namespace fg::ops {
namespace {
std::vector<TensorInfo> infer(const OpContext& ctx) {
  const TensorInfo& x = ctx.in[0];
  FG_CHECK(x.rank_known && x.rank() >= 3, ShapeError, ctx.where(),
           ": input must be N x C x spatial (rank 3 or more)");
  Shape out(x.shape.begin(), x.shape.begin() + 2);
  out.resize(x.shape.size(), 1);
  return {make_info(x.dtype, out)};
}

Kernel prepare(const OpContext& ctx) {
  std::vector<int64_t> dims;
  for (int64_t i = 2; i < ctx.in[0].rank(); ++i) dims.push_back(i);
  return [dims](KernelArgs& a) {
    const at::Tensor& x = a.in[0];
    a.out[0] = x.amax(dims, /*keepdim=*/true);
  };
}

int64_t flops(const OpContext& ctx, std::span<const TensorInfo>) { return ctx.in[0].numel(); }
}  // namespace

extern const OpDef kGlobalMaxPool{OpKind::kGlobalMaxPool, "GlobalMaxPool", 1, 1, 1, 1, infer,
                                   prepare, flops, false};
}  // namespace fg::ops
