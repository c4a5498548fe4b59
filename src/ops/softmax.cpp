// Softmax along `axis`. Opset 13 changed the meaning: before it, the input is viewed as
// 2-d (dims before axis x dims from axis on, axis default 1) and normalised over the
// second; from 13 on it is over the single dim `axis` (default -1).
#include "ops/common.h"

namespace fg::ops {
namespace {
Kernel prepare(const OpContext& ctx) {
  return normalize_along_axis_kernel(
      ctx, [](const at::Tensor& x, int64_t dim) { return at::softmax(x, dim); });
}
}  // namespace

extern const OpDef kSoftmax{OpKind::kSoftmax, "Softmax",     1,    1, 1, 1, same_as_input,
                            prepare,          softmax_flops, false};
}  // namespace fg::ops
