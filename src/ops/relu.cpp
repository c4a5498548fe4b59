// Relu: max(x, 0), in place when the input dies here.
#include <limits>

#include "ops/common.h"

namespace fg::ops {
namespace {
namespace relu_op {
Kernel prepare(const OpContext&) {
  Kernel aten = unary_kernel([](const at::Tensor& x) { return at::relu(x); },
                             [](at::Tensor& x) -> at::Tensor& { return at::relu_(x); });
  return [aten](KernelArgs& a) {
    const float inf = std::numeric_limits<float>::infinity();
    if (clamp_float_applies(a.in[0], 0.0, inf)) {
      a.out[0] = clamp_float(a.in[0], 0.0F, inf, a.may_overwrite(0));
    } else {
      aten(a);
    }
  };
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
