// Concat along `axis`: every input has the same shape except along axis.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ops/common.h"

namespace fg::ops {
namespace {
namespace concat_op {
int64_t axis_of(const OpContext& ctx, int64_t rank) {
  FG_CHECK(ctx.attrs().has("axis"), ModelFormatError, ctx.where(), ": missing attribute 'axis'");
  return normalize_axis(ctx, ctx.attrs().get_int("axis", 0), rank);
}

std::vector<TensorInfo> infer(const OpContext& ctx) {
  const TensorInfo* known = nullptr;
  for (const auto& t : ctx.in) {
    if (t.rank_known) known = &t;
  }
  if (known == nullptr) return {unknown_rank(ctx.in[0].dtype)};
  int64_t axis = axis_of(ctx, known->rank());
  Shape out = known->shape;
  out[axis] = 0;
  for (size_t i = 0; i < ctx.in.size(); ++i) {
    const TensorInfo& t = ctx.in[i];
    FG_CHECK(t.dtype == known->dtype, ShapeError, ctx.where(), ": input ", i, " is ",
             dtype_name(t.dtype), " but others are ", dtype_name(known->dtype));
    if (!t.rank_known) {
      out[axis] = kUnknownDim;
      continue;
    }
    FG_CHECK(t.rank() == known->rank(), ShapeError, ctx.where(), ": input ", i, " has rank ",
             t.rank(), ", expected ", known->rank());
    for (int64_t d = 0; d < t.rank(); ++d) {
      if (d == axis) continue;
      if (out[d] < 0) out[d] = t.shape[d];
      FG_CHECK(t.shape[d] < 0 || out[d] == t.shape[d], ShapeError, ctx.where(), ": input ", i,
               " has shape [", fmt::format("{}", fmt::join(t.shape, ",")),
               "], which differs from the others outside axis ", axis);
    }
    out[axis] = (out[axis] < 0 || t.shape[axis] < 0) ? kUnknownDim : out[axis] + t.shape[axis];
  }
  return {make_info(known->dtype, out)};
}

Kernel prepare(const OpContext& ctx) {
  int64_t rank = 0;
  for (const auto& t : ctx.in) {
    if (t.rank_known) rank = t.rank();
  }
  int64_t axis = axis_of(ctx, rank);
  return [axis](KernelArgs& a) { a.out[0] = at::cat(a.in, axis); };
}

// A changed box of input i is the same box of the output, shifted along the axis.
std::optional<Region> region(const OpContext& ctx) {
  std::vector<int64_t> offsets;
  int64_t rank = 0, offset = 0;
  for (const auto& t : ctx.in) {
    if (!t.shape_known()) return std::nullopt;
    rank = t.rank();
    offsets.push_back(offset);
    offset += t.shape[static_cast<size_t>(axis_of(ctx, rank))];
  }
  int64_t axis = axis_of(ctx, rank);
  offsets.push_back(offset);
  Region r;
  r.reach = [axis, offsets](size_t i, const Box& b) -> std::optional<Box> {
    Box o = b;
    o.lo[axis] += offsets[i];
    o.hi[axis] += offsets[i];
    return o;
  };
  r.compute = [axis, offsets](const std::vector<WindowInput>& in, const Box& ob) {
    std::vector<at::Tensor> parts;
    for (size_t i = 0; i < in.size(); ++i) {
      int64_t lo = std::max(ob.lo[axis], offsets[i]), hi = std::min(ob.hi[axis], offsets[i + 1]);
      if (lo >= hi) continue;
      Box piece = ob;
      piece.lo[axis] = lo - offsets[i];
      piece.hi[axis] = hi - offsets[i];
      parts.push_back(in[i].part(piece));
    }
    return at::cat(parts, axis);
  };
  return r;
}
}  // namespace concat_op
}  // namespace

extern const OpDef kConcat{
    OpKind::kConcat,    "Concat", 1,    1 << 16,          1, 1, concat_op::infer,
    concat_op::prepare, nullptr,  true, concat_op::region};
}  // namespace fg::ops
