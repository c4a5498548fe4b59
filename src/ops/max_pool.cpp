// MaxPool: kernel_shape, strides, dilations, pads or auto_pad, ceil_mode; 1-d to 3-d.
// Padding counts as -inf. The optional Indices output is not supported.
#include <limits>

#include "ops/common.h"

namespace fg::ops {
namespace {
namespace max_pool_op {
Window parse(const OpContext& ctx) {
  const TensorInfo& x = ctx.in[0];
  FG_CHECK(x.rank_known && x.rank() >= 3 && x.rank() <= 5, ShapeError, ctx.where(),
           ": input must be N x C x spatial (rank 3 to 5)");
  FG_CHECK(ctx.node.outputs.size() == 1, ModelFormatError, ctx.where(),
           ": the Indices output is not supported");
  FG_CHECK(ctx.attrs().get_int("storage_order", 0) == 0, ModelFormatError, ctx.where(),
           ": storage_order=1 is not supported");
  return parse_window(ctx, Shape(x.shape.begin() + 2, x.shape.end()));
}

std::vector<TensorInfo> infer(const OpContext& ctx) {
  Window w = parse(ctx);
  const TensorInfo& x = ctx.in[0];
  Shape out(x.shape.begin(), x.shape.begin() + 2);
  Shape sp = window_output(ctx, w, Shape(x.shape.begin() + 2, x.shape.end()));
  out.insert(out.end(), sp.begin(), sp.end());
  return {make_info(x.dtype, out)};
}

at::Tensor max_pool(const at::Tensor& x, const Window& w, const std::vector<int64_t>& pad,
                    bool ceil_mode) {
  switch (w.kernel.size()) {
    case 2:
      return at::max_pool2d(x, w.kernel, w.strides, pad, w.dilations, ceil_mode);
    case 1:
      return at::max_pool1d(x, w.kernel, w.strides, pad, w.dilations, ceil_mode);
    default:
      return at::max_pool3d(x, w.kernel, w.strides, pad, w.dilations, ceil_mode);
  }
}

Kernel prepare(const OpContext& ctx) {
  Window w = parse(ctx);
  // ATen takes symmetric padding of at most half the kernel; anything else is padded first.
  bool native = w.symmetric();
  for (size_t i = 0; i < w.kernel.size(); ++i) native = native && 2 * w.pad_begin[i] <= w.kernel[i];
  return [w, native](KernelArgs& a) {
    at::Tensor x =
        native ? a.in[0] : pad_spatial(a.in[0], w, -std::numeric_limits<double>::infinity());
    std::vector<int64_t> pad = native ? w.pad_begin : std::vector<int64_t>(w.kernel.size(), 0);
    a.out[0] = max_pool(x, w, pad, w.ceil_mode);
  };
}

// Per channel: a change reaches the outputs whose windows read it.
std::optional<Region> region(const OpContext& ctx) {
  if (!ctx.in[0].shape_known()) return std::nullopt;
  Window w = parse(ctx);
  Shape out = infer(ctx)[0].shape;
  Region r;
  r.reach = [w, out](size_t, const Box& b) -> std::optional<Box> {
    Box o = b;
    for (size_t j = 0; j < w.kernel.size(); ++j) {
      auto [lo, hi] = window_reach(w, j, b.lo[2 + j], b.hi[2 + j], out[2 + j]);
      o.lo[2 + j] = lo;
      o.hi[2 + j] = hi;
    }
    return o;
  };
  r.compute = [w](const std::vector<WindowInput>& in, const Box& ob) {
    at::Tensor x =
        window_input(in[0], w, ob, ob.lo[1], ob.hi[1], -std::numeric_limits<double>::infinity());
    return max_pool(x, w, std::vector<int64_t>(w.kernel.size(), 0), false);
  };
  return r;  // a maximum does not depend on the order
}

int64_t flops(const OpContext& ctx, std::span<const TensorInfo> out) {
  int64_t k = 1;
  for (int64_t d : ctx.attrs().get_ints("kernel_shape"))
    k = saturating_mul(k, std::max<int64_t>(d, 0));
  return out[0].numel() < 0 ? -1 : saturating_mul(out[0].numel(), k);
}
}  // namespace max_pool_op
}  // namespace

extern const OpDef kMaxPool{OpKind::kMaxPool,
                            "MaxPool",
                            1,
                            1,
                            1,
                            2,
                            max_pool_op::infer,
                            max_pool_op::prepare,
                            max_pool_op::flops,
                            false,
                            max_pool_op::region};
}  // namespace fg::ops
