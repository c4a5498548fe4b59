// Reshape to the shape in input 1: 0 copies the input dim (unless allowzero), -1 is
// inferred from the element count.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ops/common.h"

namespace fg::ops {
namespace {
namespace reshape_op {
// Resolves 0 and -1 against the input shape; kUnknownDim where it cannot be known yet.
Shape resolve(const OpContext& ctx, const Shape& in, bool in_known, std::vector<int64_t> target,
              bool allow_zero) {
  int64_t known = 1;
  int infer_at = -1;
  std::vector<bool> copied_unknown(in.size(), false);
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == 0 && !allow_zero) {
      FG_CHECK(i < in.size(), ShapeError, ctx.where(), ": shape entry ", i,
               " is 0 (copy) but the input has rank ", in.size());
      target[i] = in[i];
      if (target[i] < 0) {        // a copied unknown dim (a dynamic batch): not a -1 to infer,
        target[i] = kUnknownDim;  // and it cancels against the same input dim below
        copied_unknown[i] = true;
        continue;
      }
    }
    if (target[i] == -1) {
      FG_CHECK(infer_at < 0, ShapeError, ctx.where(), ": more than one -1 in the target shape");
      infer_at = static_cast<int>(i);
    } else if (target[i] < 0) {
      known = -1;
    } else if (known >= 0) {
      FG_CHECK(!__builtin_mul_overflow(known, target[i], &known), ShapeError, ctx.where(),
               ": the target shape [", fmt::format("{}", fmt::join(target, ",")),
               "] has more elements than 64 bits count");
    }
  }
  int64_t total = 1;
  for (size_t i = 0; i < in.size(); ++i) {
    if (copied_unknown[i]) continue;
    if (in[i] < 0 || total < 0 || __builtin_mul_overflow(total, in[i], &total)) total = -1;
  }
  if (!in_known) total = -1;
  if (infer_at >= 0) {
    target[infer_at] = (total < 0 || known <= 0) ? kUnknownDim : total / known;
    FG_CHECK(total < 0 || known <= 0 || total % known == 0, ShapeError, ctx.where(),
             ": cannot reshape ", total, " elements to [",
             fmt::format("{}", fmt::join(target, ",")), "]");
  } else if (total >= 0 && known >= 0) {
    FG_CHECK(total == known, ShapeError, ctx.where(), ": cannot reshape [",
             fmt::format("{}", fmt::join(in, ",")), "] (", total, " elements) to [",
             fmt::format("{}", fmt::join(target, ",")), "] (", known, " elements)");
  }
  return target;
}

std::vector<TensorInfo> infer(const OpContext& ctx) {
  const TensorInfo& x = ctx.in[0];
  auto target = const_ints(ctx, 1);
  if (!target) {
    const TensorInfo& s = input_with_rank(ctx, 1, 1);
    if (!s.shape_known()) return {unknown_rank(x.dtype)};
    return {make_info(x.dtype, Shape(static_cast<size_t>(s.shape[0]), kUnknownDim))};
  }
  bool allow_zero = ctx.attrs().get_int("allowzero", 0) != 0;
  if (!x.rank_known) {
    Shape s = *target;
    for (auto& d : s) d = d > 0 ? d : kUnknownDim;
    return {make_info(x.dtype, s)};
  }
  return {make_info(x.dtype, resolve(ctx, x.shape, x.rank_known, *target, allow_zero))};
}

Kernel prepare(const OpContext& ctx) {
  bool allow_zero = ctx.attrs().get_int("allowzero", 0) != 0;
  return [allow_zero](KernelArgs& a) {
    std::vector<int64_t> target = tensor_to_ints(a.in[1]);
    if (!allow_zero) {
      for (size_t i = 0; i < target.size(); ++i) {
        if (target[i] == 0 && static_cast<int64_t>(i) < a.in[0].dim()) target[i] = a.in[0].size(i);
      }
    }
    a.out[0] = a.in[0].reshape(target);
  };
}
// A changed box that is whole in every dim from some d on, where the reshape keeps the dims
// before d (splitting or merging only later dims: N x T x D <-> N x T x H x d), reaches the
// same leading box of the output; anything else reaches the whole output.
std::optional<Region> region(const OpContext& ctx) {
  if (!ctx.in[0].shape_known()) return std::nullopt;
  TensorInfo out = infer(ctx)[0];
  if (!out.shape_known()) return std::nullopt;
  Shape in = ctx.in[0].shape, os = out.shape;
  // The output dims that a box of the first d input dims maps to: d when the first d dims
  // of both shapes are equal.
  auto kept = [in, os](const Box& b) -> std::optional<size_t> {
    size_t d = in.size();
    while (d > 0 && b.lo[d - 1] == 0 && b.hi[d - 1] == in[d - 1]) --d;
    if (d > os.size()) return std::nullopt;
    for (size_t i = 0; i < d; ++i) {
      if (in[i] != os[i]) return std::nullopt;
    }
    return d;
  };
  Region r;
  r.reach = [kept, os](size_t i, const Box& b) -> std::optional<Box> {
    if (i != 0) return std::nullopt;
    auto d = kept(b);
    if (!d) return std::nullopt;
    Box o = Box::whole(os);
    for (size_t k = 0; k < *d; ++k) {
      o.lo[k] = b.lo[k];
      o.hi[k] = b.hi[k];
    }
    return o;
  };
  r.compute = [in, os](const std::vector<WindowInput>& x, const Box& ob) {
    // The leading dims the two shapes share keep the asked box; the rest are taken whole
    // (any box may be asked for), reshaped, and the asked part returned.
    size_t d = 0;
    while (d < in.size() && d < os.size() && in[d] == os[d]) ++d;
    Box ib = Box::whole(in), cover = Box::whole(os);
    std::vector<int64_t> shape(os.begin(), os.end());
    for (size_t k = 0; k < d; ++k) {
      ib.lo[k] = cover.lo[k] = ob.lo[k];
      ib.hi[k] = cover.hi[k] = ob.hi[k];
      shape[k] = ob.hi[k] - ob.lo[k];
    }
    return relative_part(x[0].part(ib).reshape(shape), cover, ob);
  };
  return r;
}
}  // namespace reshape_op
}  // namespace

extern const OpDef kReshape{
    OpKind::kReshape,  "Reshape", 2, 2, 1, 1, reshape_op::infer, reshape_op::prepare, nullptr, true,
    reshape_op::region};
}  // namespace fg::ops
