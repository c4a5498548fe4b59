// Constant: a tensor held in an attribute (value, value_float(s), value_int(s)).
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace constant_op {
at::Tensor value_of(const OpContext& ctx) {
  const Attrs& at = ctx.attrs();
  if (at.has("value")) return at.get_tensor("value");
  if (at.has("value_float")) return at::scalar_tensor(at.get_float("value_float", 0), at::kFloat);
  if (at.has("value_int")) return at::scalar_tensor(at.get_int("value_int", 0), at::kLong);
  if (at.has("value_ints")) {
    auto v = at.get_ints("value_ints");
    return at::tensor(v, at::kLong);
  }
  if (at.has("value_floats")) {
    auto v = at.get_floats("value_floats");
    return at::tensor(v, at::kDouble).to(at::kFloat);
  }
  FG_FAIL(ModelFormatError, ctx.where(),
          ": needs one of the attributes value, value_float(s), value_int(s)");
}

std::vector<TensorInfo> infer(const OpContext& ctx) {
  at::Tensor v = value_of(ctx);
  TensorInfo t = make_info(from_scalar_type(v.scalar_type()), v.sizes().vec());
  t.value = v;
  return {t};
}

Kernel prepare(const OpContext& ctx) {
  at::Tensor v = value_of(ctx);
  return [v](KernelArgs& a) { a.out[0] = v; };
}
}  // namespace constant_op
}  // namespace

extern const OpDef kConstant{OpKind::kConstant,  "Constant",           0,       0,   1, 1,
                             constant_op::infer, constant_op::prepare, nullptr, true};
}  // namespace fg::ops
