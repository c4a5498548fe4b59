// Flatten: a 2-d view, (dims before axis) x (dims from axis on); axis defaults to 1.
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace flatten_op {
int64_t axis_of(const OpContext& ctx) {
  const TensorInfo& x = ctx.in[0];
  FG_CHECK(x.rank_known, ShapeError, ctx.where(), ": input rank must be known");
  int64_t axis = ctx.attrs().get_int("axis", 1);
  FG_CHECK(axis >= -x.rank() && axis <= x.rank(), ModelFormatError, ctx.where(), ": axis ", axis,
           " is out of range for rank ", x.rank());
  return axis < 0 ? axis + x.rank() : axis;
}

int64_t product(const Shape& s, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to; ++i) {
    if (s[i] < 0) return kUnknownDim;
    p *= s[i];
  }
  return p;
}

std::vector<TensorInfo> infer(const OpContext& ctx) {
  auto axis = static_cast<size_t>(axis_of(ctx));
  const Shape& s = ctx.in[0].shape;
  return {make_info(ctx.in[0].dtype, {product(s, 0, axis), product(s, axis, s.size())})};
}

Kernel prepare(const OpContext& ctx) {
  int64_t axis = axis_of(ctx);
  return [axis](KernelArgs& a) {
    const at::Tensor& x = a.in[0];
    int64_t outer = c10::multiply_integers(x.sizes().slice(0, axis));
    a.out[0] = x.reshape({outer, outer == 0 ? 0 : x.numel() / outer});
  };
}
}  // namespace flatten_op
}  // namespace

extern const OpDef kFlatten{OpKind::kFlatten,  "Flatten",           1,       1,   1, 1,
                            flatten_op::infer, flatten_op::prepare, nullptr, true};
}  // namespace fg::ops
