// Pow: x ^ y elementwise with broadcasting; the result has x's type (y may be another
// numeric type). A constant scalar exponent takes ATen's scalar path, as PyTorch's
// `x ** 2` does (x * x), so the bits equal PyTorch's.
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace pow_op {
std::vector<TensorInfo> infer(const OpContext& ctx) {
  const TensorInfo& a = ctx.in[0];
  const TensorInfo& b = ctx.in[1];
  if (!a.rank_known || !b.rank_known) return {unknown_rank(a.dtype)};
  return {make_info(a.dtype, broadcast_shapes(ctx, a.shape, b.shape))};
}

Kernel prepare(const OpContext& ctx) {
  const TensorInfo& e = ctx.in[1];
  if (e.value && e.value->numel() == 1 && e.rank() <= ctx.in[0].rank() &&
      is_floating(ctx.in[0].dtype)) {
    double p = e.value->to(at::kDouble).item<double>();
    return [p](KernelArgs& a) { a.out[0] = at::pow(a.in[0], p); };
  }
  return [](KernelArgs& a) {
    const at::Tensor& x = a.in[0];
    a.out[0] = at::pow(x, a.in[1].to(x.scalar_type())).to(x.scalar_type());
  };
}
}  // namespace pow_op
}  // namespace

extern const OpDef kPow{OpKind::kPow,
                        "Pow",
                        2,
                        2,
                        1,
                        1,
                        pow_op::infer,
                        pow_op::prepare,
                        nullptr,
                        false,
                        elementwise_region_of<pow_op::prepare, false>};
}  // namespace fg::ops
