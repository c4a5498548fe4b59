// Relu: max(x, 0), in place when the input dies here.
#include <limits>

#include "ops/common.h"

namespace fg::ops {
namespace {
namespace relu_op {
Kernel prepare(const OpContext&) {
  return [](KernelArgs& a) {
    const at::Tensor& x = a.in[0];
    const double inf = std::numeric_limits<double>::infinity();
    if (clamp_float_applies(x, 0.0, inf)) {
      a.out[0] = clamp_float(x, 0.0F, std::numeric_limits<float>::infinity(), a.may_overwrite(0));
    } else if (a.may_overwrite(0) && x.is_contiguous()) {
      a.out[0] = at::relu_(a.in[0]);
    } else {
      a.out[0] = at::relu(x);
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
