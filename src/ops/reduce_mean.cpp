// ReduceMean over `axes` (attribute before opset 18, input 1 from then on; all dims when
// none are given unless noop_with_empty_axes), keepdims default 1.
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace reduce_mean_op {
struct ReduceParams {
  std::vector<int64_t> axes;
  bool keepdims;
  bool noop;
};

ReduceParams parse(const OpContext& ctx) {
  const TensorInfo& x = ctx.in[0];
  FG_CHECK(x.rank_known, ShapeError, ctx.where(), ": input rank must be known");
  ReduceParams p{{}, ctx.attrs().get_int("keepdims", 1) != 0, false};
  auto axes = ints_from_attr_or_input(ctx, "axes", 1, 18).value_or(std::vector<int64_t>{});
  if (axes.empty()) {
    p.noop = ctx.attrs().get_int("noop_with_empty_axes", 0) != 0;
    if (!p.noop) {
      for (int64_t i = 0; i < x.rank(); ++i) p.axes.push_back(i);
    }
  }
  for (int64_t ax : axes) p.axes.push_back(normalize_axis(ctx, ax, x.rank(), "axes entry"));
  std::sort(p.axes.begin(), p.axes.end());
  return p;
}

std::vector<TensorInfo> infer(const OpContext& ctx) {
  ReduceParams p = parse(ctx);
  Shape out;
  for (int64_t i = 0; i < ctx.in[0].rank(); ++i) {
    bool reduced = std::binary_search(p.axes.begin(), p.axes.end(), i);
    if (!reduced) {
      out.push_back(ctx.in[0].shape[i]);
    } else if (p.keepdims) {
      out.push_back(1);
    }
  }
  return {make_info(ctx.in[0].dtype, out)};
}

Kernel prepare(const OpContext& ctx) {
  ReduceParams p = parse(ctx);
  return [p](KernelArgs& a) {
    a.out[0] = p.noop || p.axes.empty() ? a.in[0] : a.in[0].mean(p.axes, p.keepdims);
  };
}

int64_t flops(const OpContext& ctx, std::span<const TensorInfo>) { return ctx.in[0].numel(); }
}  // namespace reduce_mean_op
}  // namespace

extern const OpDef kReduceMean{
    OpKind::kReduceMean,     "ReduceMean",          1,    2, 1, 1, reduce_mean_op::infer,
    reduce_mean_op::prepare, reduce_mean_op::flops, false};
}  // namespace fg::ops
