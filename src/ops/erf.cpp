// Erf: the Gauss error function of each element (exact GELU is 0.5 x (1 + erf(x / sqrt 2))).
#include "ops/common.h"

namespace fg::ops {
namespace {
Kernel prepare(const OpContext&) {
  return unary_kernel([](const at::Tensor& x) { return at::erf(x); },
                      [](at::Tensor& x) -> at::Tensor& { return at::erf_(x); });
}
}  // namespace

extern const OpDef kErf{OpKind::kErf,
                        "Erf",
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
