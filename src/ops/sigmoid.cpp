// Sigmoid: 1 / (1 + exp(-x)).
#include "ops/common.h"

namespace fg::ops {
namespace {
Kernel prepare(const OpContext&) {
  return unary_kernel([](const at::Tensor& x) { return at::sigmoid(x); },
                      [](at::Tensor& x) -> at::Tensor& { return at::sigmoid_(x); });
}
}  // namespace

extern const OpDef kSigmoid{OpKind::kSigmoid,
                            "Sigmoid",
                            1,
                            1,
                            1,
                            1,
                            same_as_input,
                            prepare,
                            nullptr,
                            false,
                            elementwise_region_of<prepare, false>};
}  // namespace fg::ops
