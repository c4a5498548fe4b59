// Sub: elementwise with numpy-style broadcasting.
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace sub_op {
Kernel prepare(const OpContext&) {
  return binary_kernel([](const at::Tensor& a, const at::Tensor& b) { return at::sub(a, b); },
                       [](at::Tensor& a, const at::Tensor& b) -> at::Tensor& { return a.sub_(b); });
}
}  // namespace sub_op
}  // namespace

extern const OpDef kSub{OpKind::kSub,
                        "Sub",
                        2,
                        2,
                        1,
                        1,
                        broadcast_infer,
                        sub_op::prepare,
                        nullptr,
                        false,
                        elementwise_region_of<sub_op::prepare>};
}  // namespace fg::ops
