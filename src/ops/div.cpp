// Div: elementwise a / b with broadcasting; integer division truncates (ONNX semantics).
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace div_op {
Kernel prepare(const OpContext& ctx) {
  if (is_floating(ctx.in[0].dtype) || ctx.in[0].dtype == DType::kUndefined) {
    return binary_kernel(
        [](const at::Tensor& a, const at::Tensor& b) { return at::div(a, b); },
        [](at::Tensor& a, const at::Tensor& b) -> at::Tensor& { return a.div_(b); });
  }
  return [](KernelArgs& a) { a.out[0] = at::div(a.in[0], a.in[1], "trunc"); };
}
}  // namespace div_op
}  // namespace

extern const OpDef kDiv{OpKind::kDiv,
                        "Div",
                        2,
                        2,
                        1,
                        1,
                        broadcast_infer,
                        div_op::prepare,
                        nullptr,
                        false,
                        elementwise_region_of<div_op::prepare, false>};
}  // namespace fg::ops
