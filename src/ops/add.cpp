// Add: elementwise with numpy-style broadcasting.
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace add_op {
Kernel prepare(const OpContext&) {
  return binary_kernel([](const at::Tensor& a, const at::Tensor& b) { return at::add(a, b); },
                       [](at::Tensor& a, const at::Tensor& b) -> at::Tensor& { return a.add_(b); });
}
}  // namespace add_op
}  // namespace

extern const OpDef kAdd{OpKind::kAdd,
                        "Add",
                        2,
                        2,
                        1,
                        1,
                        broadcast_infer,
                        add_op::prepare,
                        nullptr,
                        false,
                        elementwise_region_of<add_op::prepare>};
}  // namespace fg::ops
