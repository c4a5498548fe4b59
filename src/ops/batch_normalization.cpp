// BatchNormalization: (x - mean) / sqrt(var + epsilon) * scale + B, per channel (dim 1).
// Inference (the default): mean and var are the running statistics (inputs 3 and 4);
// extra outputs (kept by old exporters) are those statistics unchanged. In a training
// forward (OpContext::training, set by the trainer's executor) mean and var are the
// batch's, and the running statistics are updated in place:
// running = momentum * running + (1 - momentum) * batch (ONNX's convention; PyTorch's
// momentum is 1 - this). A model file with training_mode = 1 is rejected.
// Float inference runs on faultgraph's own kernel (below); other types and training on ATen.

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <vector>

#include "core/parallel.h"
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace batch_normalization_op {
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

// Per channel c: alpha = 1 / sqrt(var + eps) * scale and beta = B - mean * alpha, then
// y = x * alpha + beta, the multiply-adds fused (std::fma): ATen's bits on this machine's
// AVX-512 (its compiler contracts both; compared bit for bit with Debian's PyTorch 1.13),
// and on every CPU the same (a CPU without FMA gets the same correctly rounded fma, slower).
// Each element's arithmetic is the same wherever it sits, so a window gives the whole
// layer's bits. ATen's batch_norm computed alpha and beta on every call through several
// dispatches (a tenth of a MobileNetV2 campaign's time, with Clip).
// Planes [i0, i1) of `plane` elements each, plane i of channel i % channels, in one call: a
// window's planes are a few elements each (5 x 5 in 960 channels), where a call per plane
// cost about as much as its multiply-adds. With the cost model of -O3 (the dev build's -O2
// left these loops of unknown length scalar). Measured in a MobileNetV2 campaign (1 thread, a
// Zen 3 core, two alternating pairs): windows 37-41 -> 31.5-35 us a call, whole layers 60-66
// -> 51-56 us (the rest of a call is the executor's bookkeeping, not this loop).
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"),
               optimize("vect-cost-model=dynamic"))) void
affine_planes(const float* __restrict x, float* __restrict y, int64_t i0, int64_t i1, int64_t plane,
              int64_t channels, const float* alpha, const float* beta) {
  for (int64_t i = i0; i < i1; ++i) {
    const float a = alpha[i % channels], b = beta[i % channels];
    const float* __restrict xs = x + i * plane;
    float* __restrict ys = y + i * plane;
    for (int64_t j = 0; j < plane; ++j) ys[j] = std::fma(xs[j], a, b);
  }
}

// The same in place (x overwritten): a separate loop, since x and y of the one above are
// declared not to alias.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"),
               optimize("vect-cost-model=dynamic"))) void
affine_planes_in_place(float* x, int64_t i0, int64_t i1, int64_t plane, int64_t channels,
                       const float* alpha, const float* beta) {
  for (int64_t i = i0; i < i1; ++i) {
    const float a = alpha[i % channels], b = beta[i % channels];
    float* xs = x + i * plane;
    for (int64_t j = 0; j < plane; ++j) xs[j] = std::fma(xs[j], a, b);
  }
}

void affine_terms(const float* scale, const float* bias, const float* mean, const float* var,
                  int64_t channels, float eps, float* alpha, float* beta) {
  for (int64_t c = 0; c < channels; ++c) {
    const float invstd = 1.0F / std::sqrt(var[c] + eps);
    alpha[c] = invstd * scale[c];
    beta[c] = std::fma(-mean[c], alpha[c], bias[c]);
  }
}

// Input 0 (x) float N x C x ..., inputs 1-4 float vectors holding channels [c0, c0 + C).
bool float_params(const at::Tensor& x, const std::vector<at::Tensor>& in, int64_t c0) {
  if (x.scalar_type() != at::kFloat || x.dim() < 2) return false;
  const int64_t channels = x.size(1);
  for (size_t i = 1; i < 5; ++i) {
    const at::Tensor& p = in[i];
    if (p.scalar_type() != at::kFloat || p.dim() != 1 || p.size(0) < c0 + channels) return false;
  }
  return true;
}

// alpha and beta of every channel of one set of parameters (inputs 1-4), kept by a layer's
// kernel and its windows between calls: a campaign calls a layer thousands of times with the
// same parameters, and slicing them and computing the terms on every call was a quarter of
// MobileNetV2's BatchNormalization time. The same tensors (held here, so that none can be
// freed and another take its place) at the same versions (a tensor changed in place has a
// new one) reuse them; a weight fault's parameters get their own, made on the call.
class AffineTerms {
 public:
  struct Terms {
    std::vector<at::Tensor> params;  // inputs 1-4
    std::vector<int64_t> versions;
    std::vector<float> alpha, beta;
  };
  std::shared_ptr<const Terms> get(const std::vector<at::Tensor>& in, float eps) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (terms_ && same(*terms_, in)) return terms_;
    }
    auto t = std::make_shared<Terms>();
    std::vector<at::Tensor> p(5);
    for (size_t i = 1; i < 5; ++i) {
      t->params.push_back(in[i]);
      t->versions.push_back(in[i]._version());
      p[i] = in[i].contiguous();
    }
    int64_t channels = in[1].size(0);
    for (size_t i = 2; i < 5; ++i) channels = std::min(channels, in[i].size(0));
    t->alpha.resize(static_cast<size_t>(channels));
    t->beta.resize(static_cast<size_t>(channels));
    affine_terms(p[1].data_ptr<float>(), p[2].data_ptr<float>(), p[3].data_ptr<float>(),
                 p[4].data_ptr<float>(), channels, eps, t->alpha.data(), t->beta.data());
    std::lock_guard<std::mutex> lock(mutex_);
    terms_ = t;
    return t;
  }

 private:
  static bool same(const Terms& t, const std::vector<at::Tensor>& in) {
    for (size_t i = 1; i < 5; ++i) {
      if (!t.params[i - 1].is_same(in[i]) || t.versions[i - 1] != in[i]._version()) return false;
    }
    return true;
  }
  std::mutex mutex_;
  std::shared_ptr<const Terms> terms_;  // the last parameters seen
};

// Channels [c0, c0 + x.size(1)) of the layer, x being those channels of its input;
// `in_place`: a contiguous input may be overwritten with the output.
at::Tensor batch_norm_float(const at::Tensor& input, const std::vector<at::Tensor>& params,
                            int64_t c0, double eps, AffineTerms& cache, bool in_place = false) {
  at::Tensor x = input.contiguous();
  const int64_t n = x.size(0), channels = x.size(1);
  const int64_t plane = n * channels == 0 ? 0 : x.numel() / (n * channels);
  const std::shared_ptr<const AffineTerms::Terms> terms =
      cache.get(params, static_cast<float>(eps));
  const float* alpha = terms->alpha.data() + c0;
  const float* beta = terms->beta.data() + c0;
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(plane, 1));
  if (in_place && x.is_same(input)) {
    float* data = x.data_ptr<float>();
    fg::parallel_for(0, n * channels, grain, [&](int64_t begin, int64_t end) {
      affine_planes_in_place(data, begin, end, plane, channels, alpha, beta);
    });
    return x;
  }
  at::Tensor y = at::empty_like(x);
  const float* src = x.data_ptr<float>();
  float* dst = y.data_ptr<float>();
  fg::parallel_for(0, n * channels, grain, [&](int64_t begin, int64_t end) {
    affine_planes(src, dst, begin, end, plane, channels, alpha, beta);
  });
  return y;
}

Kernel prepare(const OpContext& ctx) {
  double eps = ctx.attrs().get_float("epsilon", 1e-5);
  double momentum = 1.0 - ctx.attrs().get_float("momentum", 0.9);
  bool training = ctx.training;
  size_t extra = ctx.node.outputs.size() - 1;
  auto terms = std::make_shared<AffineTerms>();
  return [eps, momentum, training, extra, terms](KernelArgs& a) {
    if (!training && float_params(a.in[0], a.in, 0)) {
      a.out[0] = batch_norm_float(a.in[0], a.in, 0, eps, *terms, a.may_overwrite(0));
    } else {
      // Contiguous: ATen's strided path computes ((x - mean) * invstd) * weight + bias.
      a.out[0] = at::batch_norm(a.in[0].contiguous(), a.in[1], a.in[2], a.in[3], a.in[4], training,
                                momentum, eps, /*cudnn_enabled=*/false);
    }
    for (size_t i = 1; i <= extra; ++i) a.out[i] = a.in[i % 2 == 1 ? 3 : 4];
  };
}

// Per element: a changed box of the input is the changed box of the output; a changed
// parameter or statistic reaches the whole output. Float inference only (its own kernel,
// exact by construction).
std::optional<Region> region(const OpContext& ctx) {
  if (ctx.node.outputs.size() != 1 || ctx.training) return std::nullopt;
  for (size_t i = 0; i < 5; ++i) {
    if (ctx.in[i].dtype != DType::kFloat32) return std::nullopt;
  }
  double eps = ctx.attrs().get_float("epsilon", 1e-5);
  Region r;
  r.reach = [](size_t i, const Box& b) -> std::optional<Box> {
    if (i != 0) return std::nullopt;
    return b;
  };
  auto terms = std::make_shared<AffineTerms>();
  r.compute = [eps, terms](const std::vector<WindowInput>& in, const Box& ob) {
    at::Tensor x = in[0].part(ob);
    // The parameters are never patched: a change there reaches the whole output.
    std::vector<at::Tensor> params(5);
    for (size_t i = 1; i < 5; ++i) params[i] = in[i].base;
    FG_ASSERT(float_params(x, params, ob.lo[1]),
              "BatchNormalization window: inputs of another type than planned");
    return batch_norm_float(x, params, ob.lo[1], eps, *terms);
  };
  return r;
}

int64_t flops(const OpContext&, std::span<const TensorInfo> out) {
  return out[0].numel() < 0 ? -1 : 2 * out[0].numel();
}
}  // namespace batch_normalization_op
}  // namespace

extern const OpDef kBatchNormalization{OpKind::kBatchNormalization,
                                       "BatchNormalization",
                                       5,
                                       5,
                                       1,
                                       5,
                                       batch_normalization_op::infer,
                                       batch_normalization_op::prepare,
                                       batch_normalization_op::flops,
                                       false,
                                       batch_normalization_op::region};
}  // namespace fg::ops
