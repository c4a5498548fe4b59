// Softmax along `axis`. Opset 13 changed the meaning: before it, the input is viewed as
// 2-d (dims before axis x dims from axis on, axis default 1) and normalised over the
// second; from 13 on it is over the single dim `axis` (default -1).
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace softmax_op {
Kernel prepare(const OpContext& ctx) {
  return normalize_along_axis_kernel(
      ctx, [](const at::Tensor& x, int64_t dim) { return at::softmax(x, dim); });
}
// A change in some rows reaches those rows: every dim keeps its box but the normalised
// ones (the axis from opset 13 on; before it, every dim from the axis on).
std::optional<Region> region(const OpContext& ctx) {
  const TensorInfo& x = ctx.in[0];
  if (!x.shape_known() || x.rank() == 0) return std::nullopt;
  int64_t axis =
      normalize_axis(ctx, ctx.attrs().get_int("axis", ctx.opset >= 13 ? -1 : 1), x.rank());
  int64_t last = ctx.opset >= 13 ? axis + 1 : x.rank();
  Shape shape = x.shape;
  Kernel kernel = prepare(ctx);
  Region r;
  r.reach = [axis, last, shape](size_t, const Box& b) -> std::optional<Box> {
    Box o = b;
    for (int64_t d = axis; d < last; ++d) {
      o.lo[d] = 0;
      o.hi[d] = shape[d];
    }
    return o;
  };
  r.compute = [kernel, axis, last, shape](const std::vector<WindowInput>& in, const Box& ob) {
    Box rows = ob;  // whole rows (any box may be asked for), then the asked part of them
    for (int64_t d = axis; d < last; ++d) {
      rows.lo[d] = 0;
      rows.hi[d] = shape[d];
    }
    std::vector<at::Tensor> xs{in[0].part(rows)}, outs(1);
    KernelArgs a{xs, outs, 0};
    kernel(a);
    return relative_part(outs[0], rows, ob);
  };
  r.exact = false;  // checked once by the executor
  return r;
}
}  // namespace softmax_op
}  // namespace

extern const OpDef kSoftmax{OpKind::kSoftmax,
                            "Softmax",
                            1,
                            1,
                            1,
                            1,
                            same_as_input,
                            softmax_op::prepare,
                            softmax_flops,
                            false,
                            softmax_op::region};
}  // namespace fg::ops
