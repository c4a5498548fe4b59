// Mod: the remainder of a / b elementwise with broadcasting. fmod = 0 (integers only): the
// sign of the divisor, like Python's %; fmod = 1: the sign of the dividend, like C's fmod.
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace mod_op {
bool c_fmod(const OpContext& ctx) {
  int64_t f = ctx.attrs().get_int("fmod", 0);
  FG_CHECK(f == 0 || f == 1, ModelFormatError, ctx.where(), ": fmod must be 0 or 1, not ", f);
  FG_CHECK(f == 1 || !is_floating(ctx.in[0].dtype), ModelFormatError, ctx.where(),
           ": floating-point inputs need fmod = 1");
  return f == 1;
}

std::vector<TensorInfo> infer(const OpContext& ctx) {
  c_fmod(ctx);
  return broadcast_infer(ctx);
}

Kernel prepare(const OpContext& ctx) {
  if (c_fmod(ctx)) return [](KernelArgs& a) { a.out[0] = at::fmod(a.in[0], a.in[1]); };
  return [](KernelArgs& a) { a.out[0] = at::remainder(a.in[0], a.in[1]); };
}
}  // namespace mod_op
}  // namespace

extern const OpDef kMod{OpKind::kMod,
                        "Mod",
                        2,
                        2,
                        1,
                        1,
                        mod_op::infer,
                        mod_op::prepare,
                        nullptr,
                        false,
                        elementwise_region_of<mod_op::prepare>};
}  // namespace fg::ops
