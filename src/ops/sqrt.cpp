// Sqrt: the square root of each element (correctly rounded, so a slice gives the same bits).
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace sqrt_op {
Kernel prepare(const OpContext&) {
  return unary_kernel([](const at::Tensor& x) { return at::sqrt(x); },
                      [](at::Tensor& x) -> at::Tensor& { return at::sqrt_(x); });
}
}  // namespace sqrt_op
}  // namespace

extern const OpDef kSqrt{OpKind::kSqrt,
                         "Sqrt",
                         1,
                         1,
                         1,
                         1,
                         same_as_input,
                         sqrt_op::prepare,
                         nullptr,
                         false,
                         elementwise_region_of<sqrt_op::prepare>};
}  // namespace fg::ops
