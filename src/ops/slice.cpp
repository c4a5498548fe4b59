// Slice: starts, ends, axes, steps (attributes before opset 10, inputs from then on),
// with ONNX's clamping rules; negative steps walk backwards.
#include <limits>

#include "ops/common.h"

namespace fg::ops {
namespace {
namespace slice_op {
struct SliceParams {
  std::vector<int64_t> starts, ends, axes, steps;
};

// Validates and completes the lists (default axes and steps, non-negative axes).
SliceParams complete(const std::string& where, SliceParams p, int64_t rank) {
  FG_CHECK(p.starts.size() == p.ends.size(), ModelFormatError, where,
           ": starts and ends differ in length");
  if (p.axes.empty()) {
    for (size_t i = 0; i < p.starts.size(); ++i) p.axes.push_back(static_cast<int64_t>(i));
  }
  if (p.steps.empty()) p.steps.assign(p.starts.size(), 1);
  FG_CHECK(p.axes.size() == p.starts.size() && p.steps.size() == p.starts.size(), ModelFormatError,
           where, ": starts, ends, axes and steps differ in length");
  for (auto& ax : p.axes) {
    FG_CHECK(ax >= -rank && ax < rank, ModelFormatError, where, ": axis ", ax,
             " is out of range for rank ", rank);
    ax = ax < 0 ? ax + rank : ax;
  }
  for (int64_t s : p.steps) FG_CHECK(s != 0, ModelFormatError, where, ": a step is 0");
  return p;
}

// The parameters when they are known before running (attributes, or constant inputs);
// nullopt when some input is computed at run time (e.g. from Shape of a dynamic batch).
std::optional<SliceParams> static_params(const OpContext& ctx) {
  const TensorInfo& x = ctx.in[0];
  FG_CHECK(x.rank_known, ShapeError, ctx.where(), ": input rank must be known");
  SliceParams p;
  if (ctx.opset < 10) {
    p.starts = ctx.attrs().get_ints("starts");
    p.ends = ctx.attrs().get_ints("ends");
    p.axes = ctx.attrs().get_ints("axes");
  } else {
    std::vector<int64_t>* lists[] = {&p.starts, &p.ends, &p.axes, &p.steps};
    for (size_t i = 1; i <= 4; ++i) {
      if (!ctx.has_input(i)) continue;
      auto v = const_ints(ctx, i);
      if (!v) return std::nullopt;
      *lists[i - 1] = *v;
    }
  }
  return complete(ctx.where(), std::move(p), x.rank());
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
  auto p = static_params(ctx);
  Shape out = ctx.in[0].shape;
  if (!p) {
    // Which axes are sliced is known only when the axes input is constant.
    auto axes = const_ints(ctx, 3);
    for (int64_t i = 0; i < ctx.in[0].rank(); ++i) {
      bool sliced = !axes || std::find(axes->begin(), axes->end(), i) != axes->end() ||
                    std::find(axes->begin(), axes->end(), i - ctx.in[0].rank()) != axes->end();
      if (sliced) out[i] = kUnknownDim;
    }
    return {make_info(ctx.in[0].dtype, out)};
  }
  for (size_t i = 0; i < p->axes.size(); ++i) {
    int64_t& d = out[p->axes[i]];
    if (d >= 0) d = clamp_range(p->starts[i], p->ends[i], p->steps[i], d).second;
  }
  return {make_info(ctx.in[0].dtype, out)};
}

at::Tensor slice(at::Tensor x, const SliceParams& p) {
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
  return x;
}

Kernel prepare(const OpContext& ctx) {
  if (auto p = static_params(ctx)) {
    return [p = *p](KernelArgs& a) { a.out[0] = slice(a.in[0], p); };
  }
  // Some of starts/ends/axes/steps are computed by the graph: read them on every call.
  return [where = ctx.where()](KernelArgs& a) {
    SliceParams p;
    std::vector<int64_t>* lists[] = {&p.starts, &p.ends, &p.axes, &p.steps};
    for (size_t i = 1; i < a.in.size() && i <= 4; ++i) {
      if (a.in[i].defined()) *lists[i - 1] = tensor_to_ints(a.in[i]);
    }
    a.out[0] = slice(a.in[0], complete(where, std::move(p), a.in[0].dim()));
  };
}
}  // namespace slice_op
}  // namespace

extern const OpDef kSlice{OpKind::kSlice,  "Slice",           1,       5,   1, 1,
                          slice_op::infer, slice_op::prepare, nullptr, true};
}  // namespace fg::ops
