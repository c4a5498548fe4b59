// HardSigmoid: max(0, min(1, alpha * x + beta)), alpha 0.2 and beta 0.5 by default.
// PyTorch exports its hardsigmoid as alpha = 1/6, beta = 0.5; that case runs ATen's kernel
// so the numbers match PyTorch bit for bit.
#include <cmath>

#include "ops/common.h"

namespace fg::ops {
namespace {
namespace hard_sigmoid_op {
Kernel prepare(const OpContext& ctx) {
  double alpha = ctx.attrs().get_float("alpha", 0.2);
  double beta = ctx.attrs().get_float("beta", 0.5);
  if (std::abs(alpha - 1.0 / 6.0) < 1e-7 && beta == 0.5) {
    return unary_kernel([](const at::Tensor& x) { return at::hardsigmoid(x); },
                        [](at::Tensor& x) -> at::Tensor& { return at::hardsigmoid_(x); });
  }
  return [alpha, beta](KernelArgs& a) { a.out[0] = at::clamp(a.in[0] * alpha + beta, 0.0, 1.0); };
}
}  // namespace hard_sigmoid_op
}  // namespace

extern const OpDef kHardSigmoid{OpKind::kHardSigmoid,
                                "HardSigmoid",
                                1,
                                1,
                                1,
                                1,
                                same_as_input,
                                hard_sigmoid_op::prepare,
                                nullptr,
                                false,
                                elementwise_region_of<hard_sigmoid_op::prepare, false>};
}  // namespace fg::ops
