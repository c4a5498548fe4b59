// HardSwish: x * relu6(x + 3) / 6 (opset 14).
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace hard_swish_op {
Kernel prepare(const OpContext&) {
  return unary_kernel([](const at::Tensor& x) { return at::hardswish(x); },
                      [](at::Tensor& x) -> at::Tensor& { return at::hardswish_(x); });
}
}  // namespace hard_swish_op
}  // namespace

extern const OpDef kHardSwish{OpKind::kHardSwish,
                              "HardSwish",
                              1,
                              1,
                              1,
                              1,
                              same_as_input,
                              hard_swish_op::prepare,
                              nullptr,
                              false,
                              elementwise_region_of<hard_swish_op::prepare, false>};
}  // namespace fg::ops
