// BatchNormalization: (x - mean) / sqrt(var + epsilon) * scale + B, per channel (dim 1).
// Inference (the default): mean and var are the running statistics (inputs 3 and 4);
// extra outputs (kept by old exporters) are those statistics unchanged. In a training
// forward (OpContext::training, set by the trainer's executor) mean and var are the
// batch's, and the running statistics are updated in place:
// running = momentum * running + (1 - momentum) * batch (ONNX's convention; PyTorch's
// momentum is 1 - this). A model file with training_mode = 1 is rejected.
#include "ops/common.h"

namespace fg::ops {
namespace {
std::vector<TensorInfo> infer(const OpContext& ctx) {
  FG_CHECK(ctx.attrs().get_int("training_mode", 0) == 0, ModelFormatError, ctx.where(),
           ": training_mode=1 is not supported (export the model in eval mode)");
  const TensorInfo& x = ctx.in[0];
  FG_CHECK(!x.rank_known || x.rank() >= 2, ShapeError, ctx.where(), ": input must be N x C x ...");
  for (size_t i = 1; i < 5; ++i) {
    const TensorInfo& p = input_with_rank(ctx, i, 1);
    if (x.rank_known && x.shape[1] >= 0 && p.rank_known && p.shape[0] >= 0) {
      FG_CHECK(p.shape[0] == x.shape[1], ShapeError, ctx.where(), ": input ", i, " has ",
               p.shape[0], " elements but the input has ", x.shape[1], " channels");
    }
  }
  std::vector<TensorInfo> out = same_as_input(ctx);
  for (size_t i = 1; i < ctx.node.outputs.size(); ++i) {
    TensorInfo s = ctx.in[i % 2 == 1 ? 3 : 4];
    s.value.reset();
    out.push_back(s);
  }
  return out;
}

Kernel prepare(const OpContext& ctx) {
  double eps = ctx.attrs().get_float("epsilon", 1e-5);
  double momentum = 1.0 - ctx.attrs().get_float("momentum", 0.9);
  bool training = ctx.training;
  size_t extra = ctx.node.outputs.size() - 1;
  return [eps, momentum, training, extra](KernelArgs& a) {
    // Always a contiguous input: ATen's contiguous path computes x * alpha + beta, its
    // strided one ((x - mean) * invstd) * weight + bias, so a strided window's bits would
    // differ from the whole layer's.
    a.out[0] = at::batch_norm(a.in[0].contiguous(), a.in[1], a.in[2], a.in[3], a.in[4], training,
                              momentum, eps,
                              /*cudnn_enabled=*/false);
    for (size_t i = 1; i <= extra; ++i) a.out[i] = a.in[i % 2 == 1 ? 3 : 4];
  };
}

// Per element: a changed box of the input is the changed box of the output; a changed
// parameter or statistic reaches the whole output.
std::optional<Region> region(const OpContext& ctx) {
  if (ctx.node.outputs.size() != 1 || ctx.training) return std::nullopt;
  Kernel kernel = prepare(ctx);
  Region r;
  r.reach = [](size_t i, const Box& b) -> std::optional<Box> {
    if (i != 0) return std::nullopt;
    return b;
  };
  r.compute = [kernel](const std::vector<WindowInput>& in, const Box& ob) {
    std::vector<at::Tensor> xs(5), outs(1);
    xs[0] = in[0].part(ob);
    // The parameters are never patched: a change there reaches the whole output.
    for (size_t i = 1; i < 5; ++i) xs[i] = in[i].base.narrow(0, ob.lo[1], ob.hi[1] - ob.lo[1]);
    KernelArgs a{xs, outs, 0};
    kernel(a);
    return outs[0];
  };
  // The contiguous path gives every window the whole layer's bits in ATen 1.13 (its vector
  // loop loads the tail partially); checked once per layer (Executor::windows_match).
  r.exact = false;
  return r;
}

int64_t flops(const OpContext&, std::span<const TensorInfo> out) {
  return out[0].numel() < 0 ? -1 : 2 * out[0].numel();
}
}  // namespace

extern const OpDef kBatchNormalization{OpKind::kBatchNormalization,
                                       "BatchNormalization",
                                       5,
                                       5,
                                       1,
                                       5,
                                       infer,
                                       prepare,
                                       flops,
                                       false,
                                       region};
}  // namespace fg::ops
