// Dropout: inference only, so the input passes through; the optional mask output is all
// true. training_mode = true is rejected: faultgraph evaluates models, it does not sample.
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace dropout_op {
std::vector<TensorInfo> infer(const OpContext& ctx) {
  if (ctx.has_input(2) && ctx.in[2].value) {
    FG_CHECK(!ctx.in[2].value->item<bool>(), ModelFormatError, ctx.where(),
             ": training_mode=true is not supported (export the model in eval mode)");
  }
  std::vector<TensorInfo> out = same_as_input(ctx);
  if (ctx.node.outputs.size() > 1) {
    TensorInfo mask = out[0];
    mask.dtype = DType::kBool;
    out.push_back(mask);
  }
  return out;
}
Kernel prepare(const OpContext& ctx) {
  bool mask = ctx.node.outputs.size() > 1;
  return [mask](KernelArgs& a) {
    a.out[0] = a.in[0];
    if (mask) a.out[1] = at::ones_like(a.in[0], at::kBool);
  };
}
}  // namespace dropout_op
}  // namespace

extern const OpDef kDropout{OpKind::kDropout,  "Dropout",           1,       3,   1, 2,
                            dropout_op::infer, dropout_op::prepare, nullptr, true};
}  // namespace fg::ops
