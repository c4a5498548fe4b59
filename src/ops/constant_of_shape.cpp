// ConstantOfShape: a tensor of the shape in input 0 filled with `value` (float 0 by default).
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace constant_of_shape_op {
at::Tensor fill_of(const OpContext& ctx) {
  if (!ctx.attrs().has("value")) return at::zeros({1}, at::kFloat);
  at::Tensor v = ctx.attrs().get_tensor("value");
  FG_CHECK(v.numel() == 1, ModelFormatError, ctx.where(), ": value must hold one element");
  return v.reshape({1});
}

std::vector<TensorInfo> infer(const OpContext& ctx) {
  DType dt = from_scalar_type(fill_of(ctx).scalar_type());
  if (auto s = const_ints(ctx, 0)) {
    for (int64_t d : *s) {
      FG_CHECK(d >= 0, ShapeError, ctx.where(), ": shape has a negative dim (", d, ")");
    }
    return {make_info(dt, *s)};
  }
  const TensorInfo& s = input_with_rank(ctx, 0, 1);
  if (!s.shape_known()) return {unknown_rank(dt)};
  return {make_info(dt, Shape(static_cast<size_t>(s.shape[0]), kUnknownDim))};
}

Kernel prepare(const OpContext& ctx) {
  at::Tensor fill = fill_of(ctx);
  std::string where = ctx.where();
  return [fill, where](KernelArgs& a) {
    std::vector<int64_t> shape = tensor_to_ints(a.in[0]);
    for (int64_t d : shape)
      FG_CHECK(d >= 0, ShapeError, where, ": shape has a negative dim (", d, ")");
    check_fits_in_memory(where, shape, fill.element_size());
    a.out[0] = fill.expand(shape).clone();
  };
}
}  // namespace constant_of_shape_op
}  // namespace

extern const OpDef kConstantOfShape{
    OpKind::kConstantOfShape,      "ConstantOfShape", 1,   1, 1, 1, constant_of_shape_op::infer,
    constant_of_shape_op::prepare, nullptr,           true};
}  // namespace fg::ops
