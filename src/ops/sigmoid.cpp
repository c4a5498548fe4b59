// Sigmoid: 1 / (1 + exp(-x)).
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace sigmoid_op {
Kernel prepare(const OpContext&) {
  return unary_kernel([](const at::Tensor& x) { return at::sigmoid(x); },
                      [](at::Tensor& x) -> at::Tensor& { return at::sigmoid_(x); });
}
}  // namespace sigmoid_op
}  // namespace

extern const OpDef kSigmoid{OpKind::kSigmoid,
                            "Sigmoid",
                            1,
                            1,
                            1,
                            1,
                            same_as_input,
                            sigmoid_op::prepare,
                            nullptr,
                            false,
                            elementwise_region_of<sigmoid_op::prepare, false>};
}  // namespace fg::ops
