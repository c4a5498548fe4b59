// Range: start, start + delta, ... up to (not including) limit; max(ceil((limit - start) /
// delta), 0) elements of the inputs' type. The three inputs are scalars.
#include <cmath>

#include "ops/common.h"

namespace fg::ops {
namespace {
namespace range_op {
// The element count, refused when it is not a finite count that fits in memory.
int64_t count(const std::string& where, double start, double limit, double delta,
              int64_t item_size) {
  double n = std::ceil((limit - start) / delta);
  FG_CHECK(!std::isnan(n), ShapeError, where, ": start, limit and delta (", start, ", ", limit,
           ", ", delta, ") give no element count");
  if (n <= 0) return 0;
  FG_CHECK(n < 9.0e18, ShapeError, where, ": start, limit and delta (", start, ", ", limit, ", ",
           delta, ") give ", n, " elements");
  auto c = static_cast<int64_t>(n);
  check_fits_in_memory(where, std::vector<int64_t>{c}, item_size);
  return c;
}

std::vector<TensorInfo> infer(const OpContext& ctx) {
  DType t = ctx.in[0].dtype;
  for (size_t i = 0; i < 3; ++i) {
    FG_CHECK(!ctx.in[i].rank_known || ctx.in[i].numel() == 1, ShapeError, ctx.where(), ": input ",
             i, " must be a scalar");
    FG_CHECK(ctx.in[i].dtype == t, ShapeError, ctx.where(),
             ": start, limit and delta must have one type");
  }
  auto start = const_scalar(ctx, 0), limit = const_scalar(ctx, 1), delta = const_scalar(ctx, 2);
  if (delta) FG_CHECK(*delta != 0, ModelFormatError, ctx.where(), ": delta is 0");
  if (start && limit && delta) {
    return {make_info(t, {count(ctx.where(), *start, *limit, *delta,
                                static_cast<int64_t>(c10::elementSize(to_scalar_type(t))))})};
  }
  return {make_info(t, {kUnknownDim})};
}

Kernel prepare(const OpContext& ctx) {
  std::string where = ctx.where();
  return [where](KernelArgs& a) {
    at::ScalarType t = a.in[0].scalar_type();
    double start = a.in[0].to(at::kDouble).item<double>();
    double limit = a.in[1].to(at::kDouble).item<double>();
    double delta = a.in[2].to(at::kDouble).item<double>();
    FG_CHECK(delta != 0, ModelFormatError, where, ": delta is 0");
    int64_t n = count(where, start, limit, delta, static_cast<int64_t>(c10::elementSize(t)));
    // start + i * delta (in double for floats, as torch.arange accumulates; exact integers
    // otherwise), then the inputs' type.
    if (at::isFloatingType(t)) {
      a.out[0] = (at::arange(n, at::TensorOptions().dtype(at::kDouble)) * delta + start).to(t);
    } else {
      a.out[0] = at::arange(n, at::TensorOptions().dtype(at::kLong))
                     .mul(a.in[2].to(at::kLong).item<int64_t>())
                     .add(a.in[0].to(at::kLong).item<int64_t>())
                     .to(t);
    }
  };
}
}  // namespace range_op
}  // namespace

extern const OpDef kRange{OpKind::kRange,  "Range",           3,       3,   1, 1,
                          range_op::infer, range_op::prepare, nullptr, true};
}  // namespace fg::ops
