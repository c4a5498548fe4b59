// LogSoftmax along `axis`. Opset 13 changed the meaning: before it, the input is viewed as
// 2-d (dims before axis x dims from axis on, axis default 1) and normalised over the
// second; from 13 on it is over the single dim `axis` (default -1).
#include "ops/common.h"

namespace fg::ops {
namespace {
Kernel prepare(const OpContext& ctx) {
  const TensorInfo& x = ctx.in[0];
  FG_CHECK(x.rank_known, ShapeError, ctx.where(), ": input rank must be known");
  bool coerce_2d = ctx.opset < 13;
  int64_t axis = normalize_axis(ctx, ctx.attrs().get_int("axis", coerce_2d ? 1 : -1),
                                std::max<int64_t>(x.rank(), 1));
  if (!coerce_2d || axis == x.rank() - 1) {
    return [axis](KernelArgs& a) { a.out[0] = at::log_softmax(a.in[0], axis); };
  }
  return [axis](KernelArgs& a) {
    const at::Tensor& in = a.in[0];
    at::Tensor flat = in.reshape({c10::multiply_integers(in.sizes().slice(0, axis)), -1});
    a.out[0] = at::log_softmax(flat, 1).reshape(in.sizes());
  };
}

int64_t flops(const OpContext&, std::span<const TensorInfo> out) {
  return out[0].numel() < 0 ? -1 : 3 * out[0].numel();
}
}  // namespace

extern const OpDef kLogSoftmax{OpKind::kLogSoftmax, "LogSoftmax", 1, 1, 1, 1, same_as_input, prepare, flops, false};
}  // namespace fg::ops
