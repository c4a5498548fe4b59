// Transpose: permute dims by `perm` (default: reverse them).
#include "ops/common.h"

namespace fg::ops {
namespace {
std::vector<int64_t> perm_of(const OpContext& ctx) {
  const TensorInfo& x = ctx.in[0];
  FG_CHECK(x.rank_known, ShapeError, ctx.where(), ": input rank must be known");
  std::vector<int64_t> perm;
  for (int64_t i = x.rank() - 1; i >= 0; --i) perm.push_back(i);
  perm = ctx.attrs().get_ints("perm", perm);
  FG_CHECK(static_cast<int64_t>(perm.size()) == x.rank(), ShapeError, ctx.where(), ": perm has ",
           perm.size(), " entries for an input of rank ", x.rank());
  std::vector<bool> seen(perm.size(), false);
  for (auto& p : perm) {
    p = normalize_axis(ctx, p, x.rank(), "perm entry");
    FG_CHECK(!seen[p], ModelFormatError, ctx.where(), ": perm repeats dim ", p);
    seen[p] = true;
  }
  return perm;
}

std::vector<TensorInfo> infer(const OpContext& ctx) {
  auto perm = perm_of(ctx);
  Shape out;
  for (int64_t p : perm) out.push_back(ctx.in[0].shape[p]);
  return {make_info(ctx.in[0].dtype, out)};
}

Kernel prepare(const OpContext& ctx) {
  auto perm = perm_of(ctx);
  return [perm](KernelArgs& a) { a.out[0] = a.in[0].permute(perm); };
}
}  // namespace

extern const OpDef kTranspose{
    OpKind::kTranspose, "Transpose", 1, 1, 1, 1, infer, prepare, nullptr, true};
}  // namespace fg::ops
