// LeakyRelu: x if x >= 0 else alpha * x (alpha defaults to 0.01).
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace leaky_relu_op {
Kernel prepare(const OpContext& ctx) {
  double alpha = ctx.attrs().get_float("alpha", 0.01);
  return [alpha](KernelArgs& a) {
    if (a.may_overwrite(0) && a.in[0].is_contiguous()) {
      a.out[0] = at::leaky_relu_(a.in[0], alpha);
    } else {
      a.out[0] = at::leaky_relu(a.in[0], alpha);
    }
  };
}
}  // namespace leaky_relu_op
}  // namespace

extern const OpDef kLeakyRelu{OpKind::kLeakyRelu,
                              "LeakyRelu",
                              1,
                              1,
                              1,
                              1,
                              same_as_input,
                              leaky_relu_op::prepare,
                              nullptr,
                              false,
                              elementwise_region_of<leaky_relu_op::prepare>};
}  // namespace fg::ops
