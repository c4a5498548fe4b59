// Unsqueeze: insert size-1 dims at `axes` (positions in the output; attribute before
// opset 13, input 1 from then on).
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace unsqueeze_op {
std::vector<int64_t> axes_of(const OpContext& ctx) {
  const TensorInfo& x = ctx.in[0];
  FG_CHECK(x.rank_known, ShapeError, ctx.where(), ": input rank must be known");
  auto a = ints_from_attr_or_input(ctx, "axes", 1, 13);
  FG_CHECK(a.has_value(), ModelFormatError, ctx.where(), ": missing axes");
  int64_t out_rank = x.rank() + static_cast<int64_t>(a->size());
  std::vector<int64_t> axes;
  for (int64_t ax : *a) axes.push_back(normalize_axis(ctx, ax, out_rank, "axes entry"));
  std::sort(axes.begin(), axes.end());
  FG_CHECK(std::adjacent_find(axes.begin(), axes.end()) == axes.end(), ModelFormatError,
           ctx.where(), ": axes repeat a dim");
  return axes;
}

Shape unsqueezed_shape(const std::vector<int64_t>& axes, const Shape& in) {
  Shape out;
  size_t j = 0;
  for (int64_t i = 0; i < static_cast<int64_t>(in.size() + axes.size()); ++i) {
    if (std::binary_search(axes.begin(), axes.end(), i)) {
      out.push_back(1);
    } else {
      out.push_back(in[j++]);
    }
  }
  return out;
}

std::vector<TensorInfo> infer(const OpContext& ctx) {
  return {make_info(ctx.in[0].dtype, unsqueezed_shape(axes_of(ctx), ctx.in[0].shape))};
}

Kernel prepare(const OpContext& ctx) {
  auto axes = axes_of(ctx);
  return [axes](KernelArgs& a) {
    a.out[0] = a.in[0].reshape(unsqueezed_shape(axes, a.in[0].sizes().vec()));
  };
}
}  // namespace unsqueeze_op
}  // namespace

extern const OpDef kUnsqueeze{OpKind::kUnsqueeze,  "Unsqueeze",           1,       2,   1, 1,
                              unsqueeze_op::infer, unsqueeze_op::prepare, nullptr, true};
}  // namespace fg::ops
