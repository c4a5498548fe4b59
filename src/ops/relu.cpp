// Relu: max(x, 0), in place when the input dies here.
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace relu_op {
Kernel prepare(const OpContext&) {
  return unary_kernel([](const at::Tensor& x) { return at::relu(x); },
                      [](at::Tensor& x) -> at::Tensor& { return at::relu_(x); });
}
}  // namespace relu_op
}  // namespace

extern const OpDef kRelu{OpKind::kRelu,
                         "Relu",
                         1,
                         1,
                         1,
                         1,
                         same_as_input,
                         relu_op::prepare,
                         nullptr,
                         false,
                         elementwise_region_of<relu_op::prepare>};
}  // namespace fg::ops
