// AveragePool: kernel_shape, strides, pads or auto_pad, ceil_mode, count_include_pad;
// 1-d to 3-d. Asymmetric pads are applied beforehand; with count_include_pad = 0 the sum
// is then divided by the number of real (unpadded) elements in each window.
#include "ops/common.h"

namespace fg::ops {
namespace {
struct AvgParams {
  Window window;
  bool count_include_pad;
};

AvgParams parse(const OpContext& ctx) {
  const TensorInfo& x = ctx.in[0];
  FG_CHECK(x.rank_known && x.rank() >= 3 && x.rank() <= 5, ShapeError, ctx.where(),
           ": input must be N x C x spatial (rank 3 to 5)");
  AvgParams p{parse_window(ctx, Shape(x.shape.begin() + 2, x.shape.end())),
              ctx.attrs().get_int("count_include_pad", 0) != 0};
  for (int64_t d : p.window.dilations) {
    FG_CHECK(d == 1, ModelFormatError, ctx.where(), ": dilations other than 1 are not supported");
  }
  return p;
}

std::vector<TensorInfo> infer(const OpContext& ctx) {
  AvgParams p = parse(ctx);
  const TensorInfo& x = ctx.in[0];
  Shape out(x.shape.begin(), x.shape.begin() + 2);
  Shape sp = window_output(ctx, p.window, Shape(x.shape.begin() + 2, x.shape.end()));
  out.insert(out.end(), sp.begin(), sp.end());
  return {make_info(x.dtype, out)};
}

at::Tensor avg(const at::Tensor& x, const Window& w, const std::vector<int64_t>& pad, bool cip) {
  switch (w.kernel.size()) {
    case 2:
      return at::avg_pool2d(x, w.kernel, w.strides, pad, w.ceil_mode, cip);
    case 1:
      return at::avg_pool1d(x, w.kernel, w.strides, pad, w.ceil_mode, cip);
    default:
      return at::avg_pool3d(x, w.kernel, w.strides, pad, w.ceil_mode, cip);
  }
}

Kernel prepare(const OpContext& ctx) {
  AvgParams p = parse(ctx);
  bool native = p.window.symmetric();
  for (size_t i = 0; i < p.window.kernel.size(); ++i) {
    native = native && 2 * p.window.pad_begin[i] <= p.window.kernel[i];
  }
  return [p, native](KernelArgs& a) {
    const Window& w = p.window;
    if (native) {
      a.out[0] = avg(a.in[0], w, w.pad_begin, p.count_include_pad);
      return;
    }
    std::vector<int64_t> zero(w.kernel.size(), 0);
    at::Tensor padded = pad_spatial(a.in[0], w, 0.0);
    at::Tensor mean = avg(padded, w, zero, true);
    if (p.count_include_pad) {
      a.out[0] = mean;
      return;
    }
    // Fraction of real elements in each window, from a padded mask of ones.
    auto mask_shape = a.in[0].sizes().vec();
    for (size_t i = 0; i < 2; ++i) mask_shape[i] = 1;
    at::Tensor ones = at::ones(mask_shape, a.in[0].options());
    at::Tensor frac = avg(pad_spatial(ones, w, 0.0), w, zero, true);
    a.out[0] = mean / frac;
  };
}

int64_t flops(const OpContext& ctx, std::span<const TensorInfo> out) {
  int64_t k = 1;
  for (int64_t d : ctx.attrs().get_ints("kernel_shape"))
    k = saturating_mul(k, std::max<int64_t>(d, 0));
  return out[0].numel() < 0 ? -1 : saturating_mul(out[0].numel(), k);
}
}  // namespace

extern const OpDef kAveragePool{
    OpKind::kAveragePool, "AveragePool", 1, 1, 1, 1, infer, prepare, flops, false};
}  // namespace fg::ops
