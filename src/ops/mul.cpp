// Mul: elementwise with numpy-style broadcasting.
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace mul_op {
Kernel prepare(const OpContext&) {
  return binary_kernel([](const at::Tensor& a, const at::Tensor& b) { return at::mul(a, b); },
                       [](at::Tensor& a, const at::Tensor& b) -> at::Tensor& { return a.mul_(b); });
}
}  // namespace mul_op
}  // namespace

extern const OpDef kMul{OpKind::kMul,
                        "Mul",
                        2,
                        2,
                        1,
                        1,
                        broadcast_infer,
                        mul_op::prepare,
                        nullptr,
                        false,
                        elementwise_region_of<mul_op::prepare>};
}  // namespace fg::ops
