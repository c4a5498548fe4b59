// Shape: the input's dims as a 1-d int64 tensor, optionally sliced by start/end (opset 15).
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace shape_op {
std::pair<int64_t, int64_t> range_of(const OpContext& ctx, int64_t rank) {
  auto clampi = [rank](int64_t v) {
    if (v < 0) v += rank;
    return std::clamp<int64_t>(v, 0, rank);
  };
  int64_t start = clampi(ctx.attrs().get_int("start", 0));
  int64_t end = clampi(ctx.attrs().get_int("end", rank));
  return {start, std::max(start, end)};
}

std::vector<TensorInfo> infer(const OpContext& ctx) {
  const TensorInfo& x = ctx.in[0];
  if (!x.rank_known) return {make_info(DType::kInt64, {kUnknownDim})};
  auto [start, end] = range_of(ctx, x.rank());
  TensorInfo t = make_info(DType::kInt64, {end - start});
  Shape dims(x.shape.begin() + start, x.shape.begin() + end);
  bool known = std::all_of(dims.begin(), dims.end(), [](int64_t d) { return d >= 0; });
  if (known) t.value = at::tensor(dims, at::kLong);
  return {t};
}

Kernel prepare(const OpContext& ctx) {
  auto attrs = ctx.attrs();
  return [attrs](KernelArgs& a) {
    auto sizes = a.in[0].sizes().vec();
    auto rank = static_cast<int64_t>(sizes.size());
    auto clampi = [rank](int64_t v) {
      if (v < 0) v += rank;
      return std::clamp<int64_t>(v, 0, rank);
    };
    int64_t start = clampi(attrs.get_int("start", 0));
    int64_t end = std::max(start, clampi(attrs.get_int("end", rank)));
    a.out[0] =
        at::tensor(std::vector<int64_t>(sizes.begin() + start, sizes.begin() + end), at::kLong);
  };
}
}  // namespace shape_op
}  // namespace

extern const OpDef kShape{OpKind::kShape,  "Shape",           1,       1,   1, 1,
                          shape_op::infer, shape_op::prepare, nullptr, true};
}  // namespace fg::ops
