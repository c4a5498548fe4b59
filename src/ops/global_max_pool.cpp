// GlobalMaxPool: maximum over the spatial dims; output N x C x 1 x ... x 1.
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace global_max_pool_op {
Kernel prepare(const OpContext& ctx) {
  return [dims = spatial_dims(ctx)](KernelArgs& a) {
    a.out[0] = a.in[0].amax(dims, /*keepdim=*/true);
  };
}
}  // namespace global_max_pool_op
}  // namespace

extern const OpDef kGlobalMaxPool{
    OpKind::kGlobalMaxPool,      "GlobalMaxPool",   1,    1, 1, 1, global_pool_infer,
    global_max_pool_op::prepare, global_pool_flops, false};
}  // namespace fg::ops
