// Squeeze: drop the size-1 dims listed in `axes` (attribute before opset 13, input 1 from
// then on); all size-1 dims when none are listed.
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace squeeze_op {
std::vector<int64_t> axes_of(const OpContext& ctx) {
  const TensorInfo& x = ctx.in[0];
  FG_CHECK(x.rank_known, ShapeError, ctx.where(), ": input rank must be known");
  std::vector<int64_t> axes;
  if (auto a = ints_from_attr_or_input(ctx, "axes", 1, 13)) {
    for (int64_t ax : *a) axes.push_back(normalize_axis(ctx, ax, x.rank(), "axes entry"));
  } else {
    for (int64_t i = 0; i < x.rank(); ++i) {
      FG_CHECK(x.shape[i] >= 0, ShapeError, ctx.where(),
               ": squeezing without axes needs a fully known input shape");
      if (x.shape[i] == 1) axes.push_back(i);
    }
  }
  for (int64_t ax : axes) {
    FG_CHECK(x.shape[ax] < 0 || x.shape[ax] == 1, ShapeError, ctx.where(), ": dim ", ax,
             " has size ", x.shape[ax], ", not 1");
  }
  std::sort(axes.begin(), axes.end());
  return axes;
}

std::vector<TensorInfo> infer(const OpContext& ctx) {
  auto axes = axes_of(ctx);
  Shape out;
  for (int64_t i = 0; i < ctx.in[0].rank(); ++i) {
    if (!std::binary_search(axes.begin(), axes.end(), i)) out.push_back(ctx.in[0].shape[i]);
  }
  return {make_info(ctx.in[0].dtype, out)};
}

Kernel prepare(const OpContext& ctx) {
  auto axes = axes_of(ctx);
  return [axes](KernelArgs& a) {
    std::vector<int64_t> shape;
    for (int64_t i = 0; i < a.in[0].dim(); ++i) {
      if (!std::binary_search(axes.begin(), axes.end(), i)) shape.push_back(a.in[0].size(i));
    }
    a.out[0] = a.in[0].reshape(shape);
  };
}
}  // namespace squeeze_op
}  // namespace

extern const OpDef kSqueeze{OpKind::kSqueeze,  "Squeeze",           1,       2,   1, 1,
                            squeeze_op::infer, squeeze_op::prepare, nullptr, true};
}  // namespace fg::ops
