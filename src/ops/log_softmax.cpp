// LogSoftmax along `axis`. Opset 13 changed the meaning: before it, the input is viewed as
// 2-d (dims before axis x dims from axis on, axis default 1) and normalised over the
// second; from 13 on it is over the single dim `axis` (default -1).
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace log_softmax_op {
Kernel prepare(const OpContext& ctx) {
  return normalize_along_axis_kernel(
      ctx, [](const at::Tensor& x, int64_t dim) { return at::log_softmax(x, dim); });
}
}  // namespace log_softmax_op
}  // namespace

extern const OpDef kLogSoftmax{OpKind::kLogSoftmax,     "LogSoftmax",  1,    1, 1, 1, same_as_input,
                               log_softmax_op::prepare, softmax_flops, false};
}  // namespace fg::ops
