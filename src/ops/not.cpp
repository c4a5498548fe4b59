// Not: logical negation of a bool tensor.
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace not_op {
std::vector<TensorInfo> infer(const OpContext& ctx) {
  FG_CHECK(ctx.in[0].dtype == DType::kBool || ctx.in[0].dtype == DType::kUndefined, ShapeError,
           ctx.where(), ": input must be bool, not ", dtype_name(ctx.in[0].dtype));
  return same_as_input(ctx);
}

Kernel prepare(const OpContext&) {
  return [](KernelArgs& a) { a.out[0] = at::logical_not(a.in[0]); };
}
}  // namespace not_op
}  // namespace

extern const OpDef kNot{OpKind::kNot,
                        "Not",
                        1,
                        1,
                        1,
                        1,
                        not_op::infer,
                        not_op::prepare,
                        nullptr,
                        false,
                        elementwise_region_of<not_op::prepare>};
}  // namespace fg::ops
