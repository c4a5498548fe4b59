// LayerNormalization (opset 17): normalise over the dims from `axis` (default -1) on,
// y = (x - mean) / sqrt(var + epsilon) * scale + bias; optional outputs Mean and
// InvStdDev with the reduced dims kept as 1. Computed by ATen's layer_norm, PyTorch's own
// kernel (differentiable, for the trainer).
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace layer_normalization_op {
int64_t axis_of(const OpContext& ctx) {
  FG_CHECK(ctx.in[0].rank_known, ShapeError, ctx.where(), ": input rank must be known");
  return normalize_axis(ctx, ctx.attrs().get_int("axis", -1), ctx.in[0].rank());
}

std::vector<TensorInfo> infer(const OpContext& ctx) {
  int64_t axis = axis_of(ctx);
  const TensorInfo& x = ctx.in[0];
  FG_CHECK(is_floating(x.dtype) || x.dtype == DType::kUndefined, ShapeError, ctx.where(),
           ": input must be floating point");
  for (size_t i = 1; i < 3; ++i) {
    if (!ctx.has_input(i) || !ctx.in[i].rank_known) continue;
    const TensorInfo& p = ctx.in[i];
    FG_CHECK(p.rank() <= x.rank() - axis, ShapeError, ctx.where(), ": ", i == 1 ? "scale" : "bias",
             " has more dims than the normalised ones");
  }
  std::vector<TensorInfo> out{same_as_input(ctx)[0]};
  Shape stats(x.shape.begin(), x.shape.begin() + axis);
  stats.resize(x.shape.size(), 1);
  for (size_t i = 1; i < ctx.node.outputs.size(); ++i)
    out.push_back(make_info(DType::kFloat32, stats));
  return out;
}

Kernel prepare(const OpContext& ctx) {
  int64_t axis = axis_of(ctx);
  double eps = ctx.attrs().get_float("epsilon", 1e-5);
  FG_CHECK(eps >= 0, ModelFormatError, ctx.where(), ": epsilon must not be negative");
  size_t outputs = ctx.node.outputs.size();
  return [axis, eps, outputs](KernelArgs& a) {
    const at::Tensor& x = a.in[0];
    at::IntArrayRef norm = x.sizes().slice(axis);
    // Scale and bias broadcast to the normalised shape (an exporter may give fewer dims).
    auto param = [&](size_t i) -> at::Tensor {
      if (i >= a.in.size() || !a.in[i].defined()) return {};
      return a.in[i].dim() == static_cast<int64_t>(norm.size()) ? a.in[i]
                                                                : a.in[i].expand(norm).contiguous();
    };
    at::Tensor scale = param(1), bias = param(2);
    if (outputs == 1) {
      a.out[0] = at::layer_norm(x, norm, scale, bias, eps);
      return;
    }
    auto [y, mean, rstd] = at::native_layer_norm(x, norm, scale, bias, eps);
    std::vector<int64_t> stats(x.sizes().begin(), x.sizes().begin() + axis);
    stats.resize(static_cast<size_t>(x.dim()), 1);
    a.out[0] = y;
    a.out[1] = mean.reshape(stats);
    if (outputs > 2) a.out[2] = rstd.reshape(stats);
  };
}

// Mean, variance, normalise, scale and shift: about 8 operations per element.
int64_t flops(const OpContext& ctx, std::span<const TensorInfo>) {
  return ctx.in[0].numel() < 0 ? -1 : 8 * ctx.in[0].numel();
}
// A change in some rows (the dims before `axis`) reaches those rows of the output only.
std::optional<Region> region(const OpContext& ctx) {
  if (ctx.node.outputs.size() != 1 || !ctx.in[0].shape_known()) return std::nullopt;
  int64_t axis = axis_of(ctx);
  Shape shape = ctx.in[0].shape;
  Kernel kernel = prepare(ctx);
  Region r;
  r.reach = [axis, shape](size_t i, const Box& b) -> std::optional<Box> {
    if (i != 0) return std::nullopt;  // scale or bias: every row
    Box o = b;
    for (size_t d = static_cast<size_t>(axis); d < shape.size(); ++d) {
      o.lo[d] = 0;
      o.hi[d] = shape[d];
    }
    return o;
  };
  r.compute = [kernel, axis, shape](const std::vector<WindowInput>& in, const Box& ob) {
    // Whole rows (any box may be asked for), then the asked part of them.
    Box rows = ob;
    for (size_t d = static_cast<size_t>(axis); d < shape.size(); ++d) {
      rows.lo[d] = 0;
      rows.hi[d] = shape[d];
    }
    std::vector<at::Tensor> xs(in.size()), outs(1);
    xs[0] = in[0].part(rows);
    for (size_t i = 1; i < in.size(); ++i) {
      if (in[i].defined()) xs[i] = in[i].part(Box::whole(in[i].base.sizes()));
    }
    KernelArgs a{xs, outs, 0};
    kernel(a);
    return relative_part(outs[0], rows, ob);
  };
  r.exact = false;  // the executor checks once whether rows give the whole kernel's bits
  return r;
}
}  // namespace layer_normalization_op
}  // namespace

extern const OpDef kLayerNormalization{OpKind::kLayerNormalization,
                                       "LayerNormalization",
                                       1,
                                       3,
                                       1,
                                       3,
                                       layer_normalization_op::infer,
                                       layer_normalization_op::prepare,
                                       layer_normalization_op::flops,
                                       false,
                                       layer_normalization_op::region};
}  // namespace fg::ops
