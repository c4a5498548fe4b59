// Cast to the element type in `to` (an ONNX TensorProto.DataType code).
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace cast_op {
DType target(const OpContext& ctx) {
  FG_CHECK(ctx.attrs().has("to"), ModelFormatError, ctx.where(), ": missing attribute 'to'");
  return dtype_from_onnx(static_cast<int>(ctx.attrs().get_int("to", 0)), ctx.where());
}

std::vector<TensorInfo> infer(const OpContext& ctx) {
  TensorInfo t = ctx.in[0];
  t.value.reset();
  t.dtype = target(ctx);
  return {t};
}

Kernel prepare(const OpContext& ctx) {
  at::ScalarType to = to_scalar_type(target(ctx));
  return [to](KernelArgs& a) { a.out[0] = a.in[0].to(to); };
}
}  // namespace cast_op
}  // namespace

extern const OpDef kCast{OpKind::kCast,  "Cast",           1,       1,   1, 1,
                         cast_op::infer, cast_op::prepare, nullptr, true};
}  // namespace fg::ops
