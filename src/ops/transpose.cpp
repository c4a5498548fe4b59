// Transpose: permute dims by `perm` (default: reverse them).
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace transpose_op {
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
// A changed box moves with its dims.
std::optional<Region> region(const OpContext& ctx) {
  if (!ctx.in[0].shape_known()) return std::nullopt;
  auto perm = perm_of(ctx);
  Region r;
  r.reach = [perm](size_t, const Box& b) -> std::optional<Box> {
    Box o;
    for (int64_t p : perm) {
      o.lo.push_back(b.lo[p]);
      o.hi.push_back(b.hi[p]);
    }
    return o;
  };
  r.compute = [perm](const std::vector<WindowInput>& in, const Box& ob) {
    Box ib{std::vector<int64_t>(perm.size()), std::vector<int64_t>(perm.size())};
    for (size_t i = 0; i < perm.size(); ++i) {
      ib.lo[perm[i]] = ob.lo[i];
      ib.hi[perm[i]] = ob.hi[i];
    }
    return in[0].part(ib).permute(perm);
  };
  return r;
}
}  // namespace transpose_op
}  // namespace

extern const OpDef kTranspose{OpKind::kTranspose,
                              "Transpose",
                              1,
                              1,
                              1,
                              1,
                              transpose_op::infer,
                              transpose_op::prepare,
                              nullptr,
                              true,
                              transpose_op::region};
}  // namespace fg::ops
