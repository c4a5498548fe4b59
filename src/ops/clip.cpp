// Clip: clamp to [min, max]; the bounds are attributes before opset 11 and optional
// constant inputs from then on (ReLU6 exports as Clip(x, 0, 6)).
#include <limits>

#include "ops/common.h"

namespace fg::ops {
namespace {
namespace clip_op {
Kernel prepare(const OpContext& ctx) {
  std::optional<double> lo, hi;
  if (ctx.opset < 11) {
    if (ctx.attrs().has("min")) lo = ctx.attrs().get_float("min", 0);
    if (ctx.attrs().has("max")) hi = ctx.attrs().get_float("max", 0);
  } else {
    for (size_t i : {1, 2}) {
      if (!ctx.has_input(i)) continue;
      auto v = const_scalar(ctx, i);
      FG_CHECK(v.has_value(), ModelFormatError, ctx.where(), ": input ", i,
               " (min/max) must be a constant");
      (i == 1 ? lo : hi) = v;
    }
  }
  // The bounds for clamp_float: none is -inf / +inf.
  const double fl = lo ? *lo : -std::numeric_limits<double>::infinity();
  const double fh = hi ? *hi : std::numeric_limits<double>::infinity();
  return [lo, hi, fl, fh](KernelArgs& a) {
    at::Tensor& x = a.in[0];
    if (!lo && !hi) {
      a.out[0] = x;
      return;
    }
    if (clamp_float_applies(x, fl, fh)) {
      a.out[0] = clamp_float(x, static_cast<float>(fl), static_cast<float>(fh), a.may_overwrite(0));
      return;
    }
    c10::optional<at::Scalar> l, h;
    if (lo) l = *lo;
    if (hi) h = *hi;
    if (a.may_overwrite(0) && x.is_contiguous()) {
      a.out[0] = at::clamp_(x, l, h);
    } else {
      a.out[0] = at::clamp(x, l, h);
    }
  };
}
}  // namespace clip_op
}  // namespace

extern const OpDef kClip{OpKind::kClip,
                         "Clip",
                         1,
                         3,
                         1,
                         1,
                         same_as_input,
                         clip_op::prepare,
                         nullptr,
                         false,
                         elementwise_region_of<clip_op::prepare>};
}  // namespace fg::ops
