// Tanh: hyperbolic tangent.
#include "ops/common.h"

namespace fg::ops {
namespace {
Kernel prepare(const OpContext&) {
  return unary_kernel([](const at::Tensor& x) { return at::tanh(x); },
                      [](at::Tensor& x) -> at::Tensor& { return at::tanh_(x); });
}
}  // namespace

extern const OpDef kTanh{OpKind::kTanh,
                         "Tanh",
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
