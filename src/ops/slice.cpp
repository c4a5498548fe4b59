// Slice: starts, ends, axes, steps (attributes before opset 10, inputs from then on),
// with ONNX's clamping rules; negative steps walk backwards.
#include <limits>

#include "ops/common.h"

namespace fg::ops {
namespace {
struct SliceParams {
  std::vector<int64_t> starts, ends, axes, steps;
};

SliceParams parse(const OpContext& ctx) {
  const TensorInfo& x = ctx.in[0];
  FG_CHECK(x.rank_known, ShapeError, ctx.where(), ": input rank must be known");
  SliceParams p;
  auto get = [&](const char* name, size_t input) {
    auto v = ints_from_attr_or_input(ctx, name, input, 10);
    return v.value_or(std::vector<int64_t>{});
  };
  p.starts = get("starts", 1);
  p.ends = get("ends", 2);
  p.axes = get("axes", 3);
  p.steps = get("steps", 4);
  FG_CHECK(p.starts.size() == p.ends.size(), ModelFormatError, ctx.where(),
           ": starts and ends differ in length");
  if (p.axes.empty()) {
    for (size_t i = 0; i < p.starts.size(); ++i) p.axes.push_back(static_cast<int64_t>(i));
  }
  if (p.steps.empty()) p.steps.assign(p.starts.size(), 1);
  FG_CHECK(p.axes.size() == p.starts.size() && p.steps.size() == p.starts.size(), ModelFormatError,
           ctx.where(), ": starts, ends, axes and steps differ in length");
  for (auto& ax : p.axes) ax = normalize_axis(ctx, ax, x.rank(), "axes entry");
  for (int64_t s : p.steps) FG_CHECK(s != 0, ModelFormatError, ctx.where(), ": a step is 0");
  return p;
}

// (start, count) of the elements one axis keeps, for a dim of size n.
std::pair<int64_t, int64_t> clamp_range(int64_t start, int64_t end, int64_t step, int64_t n) {
  if (start < 0) start += n;
  if (end < 0 && end > std::numeric_limits<int64_t>::min() / 2) end += n;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, n);
    end = std::clamp<int64_t>(end, 0, n);
    return {start, end > start ? (end - start + step - 1) / step : 0};
  }
  start = std::clamp<int64_t>(start, 0, n - 1);
  end = std::clamp<int64_t>(end, -1, n - 1);
  return {start, start > end ? (start - end - step - 1) / -step : 0};
}

std::vector<TensorInfo> infer(const OpContext& ctx) {
  SliceParams p = parse(ctx);
  Shape out = ctx.in[0].shape;
  for (size_t i = 0; i < p.axes.size(); ++i) {
    int64_t& d = out[p.axes[i]];
    if (d >= 0) d = clamp_range(p.starts[i], p.ends[i], p.steps[i], d).second;
  }
  return {make_info(ctx.in[0].dtype, out)};
}

Kernel prepare(const OpContext& ctx) {
  SliceParams p = parse(ctx);
  return [p](KernelArgs& a) {
    at::Tensor x = a.in[0];
    for (size_t i = 0; i < p.axes.size(); ++i) {
      int64_t ax = p.axes[i];
      auto [start, count] = clamp_range(p.starts[i], p.ends[i], p.steps[i], x.size(ax));
      if (p.steps[i] > 0) {
        x = x.slice(ax, start, start + count * p.steps[i], p.steps[i]);
      } else {
        at::Tensor idx = at::arange(start, start + count * p.steps[i], p.steps[i], at::kLong);
        x = at::index_select(x, ax, idx.slice(0, 0, count));
      }
    }
    a.out[0] = x;
  };
}
}  // namespace

extern const OpDef kSlice{OpKind::kSlice, "Slice", 1, 5, 1, 1, infer, prepare, nullptr, true};
}  // namespace fg::ops
