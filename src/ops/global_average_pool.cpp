// GlobalAveragePool: mean over the spatial dims; output N x C x 1 x ... x 1. 2-d inputs run
// ATen's adaptive average pool, as PyTorch's AdaptiveAvgPool2d(1) does.
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace global_average_pool_op {
Kernel prepare(const OpContext& ctx) {
  return [dims = spatial_dims(ctx)](KernelArgs& a) {
    const at::Tensor& x = a.in[0];
    a.out[0] = x.dim() == 4 ? at::adaptive_avg_pool2d(x, {1, 1}) : x.mean(dims, /*keepdim=*/true);
  };
}
}  // namespace global_average_pool_op
}  // namespace

extern const OpDef kGlobalAveragePool{
    OpKind::kGlobalAveragePool,      "GlobalAveragePool", 1,    1, 1, 1, global_pool_infer,
    global_average_pool_op::prepare, global_pool_flops,   false};
}  // namespace fg::ops
