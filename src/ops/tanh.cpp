// Tanh: hyperbolic tangent.
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace tanh_op {
Kernel prepare(const OpContext&) {
  return unary_kernel([](const at::Tensor& x) { return at::tanh(x); },
                      [](at::Tensor& x) -> at::Tensor& { return at::tanh_(x); });
}
}  // namespace tanh_op
}  // namespace

extern const OpDef kTanh{OpKind::kTanh,
                         "Tanh",
                         1,
                         1,
                         1,
                         1,
                         same_as_input,
                         tanh_op::prepare,
                         nullptr,
                         false,
                         elementwise_region_of<tanh_op::prepare, false>};
}  // namespace fg::ops
