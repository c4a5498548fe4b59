// A small Vision Transformer (Dosovitskiy et al. 2021) in torchvision's layout and names:
// patch embedding by a strided convolution (conv_proj), a class token, learned position
// embeddings, pre-norm encoder layers (ln_1, self_attention, ln_2, mlp) and a linear head
// on the class token. The attention is spelt out node by node, so every tensor that fault
// studies name is a fault site of its own:
//
//   encoder.layers.encoder_layer_<i>.self_attention.q_proj / k_proj / v_proj  projections
//   ...self_attention.scores    Q K^T / sqrt(d_head), per head, before the softmax
//   ...self_attention.softmax   the attention weights
//   ...self_attention.context   the weights times V
//   ...self_attention.out_proj  the output projection
//   ...mlp.0 / mlp.1 / mlp.3    first linear layer, GELU, second linear layer
//   ...ln_1, ln_2, encoder.ln   LayerNormalization
//
// Patch size 4 up to 64-pixel inputs (28x28 gives 7x7 = 49 patches), 16 above (224x224:
// torchvision's vit_b_16 grid). Width 64 x the width multiplier, 4 heads, 4 layers, MLP 2x.
#include <fmt/format.h>

#include <cmath>

#include "faultgraph/core/error.h"
#include "faultgraph/models/zoo.h"
#include "models/net_builder.h"

namespace fg::models {

namespace {

constexpr int64_t kHeads = 4;
constexpr int64_t kLayers = 4;

struct Dims {
  int64_t tokens, width, heads, head_width, mlp;
};

at::Tensor xavier_uniform(at::Generator& gen, int64_t fan_in, int64_t fan_out) {
  double bound = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  return at::empty({fan_in, fan_out}).uniform_(-bound, bound, gen);
}

// x (N x T x in) times a weight stored as MatMul's B (in x out), plus a bias: the node named
// `name` is the Add, whose output is what a forward hook on torch's Linear sees.
ValueId linear3d(NetBuilder& b, const std::string& name, ValueId x, int64_t in, int64_t out) {
  ValueId w = b.param(name + ".weight", xavier_uniform(b.generator(), in, out));
  ValueId bias = b.param(name + ".bias", at::zeros({out}));
  return b.op(name, OpKind::kAdd, {b.op(name + ".matmul", OpKind::kMatMul, {x, w}), bias});
}

ValueId layer_norm(NetBuilder& b, const std::string& name, ValueId x, int64_t width) {
  Attrs a;
  a.set("axis", int64_t{-1});
  a.set("epsilon", 1e-6);  // torchvision's ViT
  return b.op(name, OpKind::kLayerNormalization,
              {x, b.param(name + ".weight", at::ones({width})),
               b.param(name + ".bias", at::zeros({width}))},
              a);
}

ValueId transpose(NetBuilder& b, const std::string& name, ValueId x, std::vector<int64_t> perm) {
  Attrs a;
  a.set("perm", std::move(perm));
  return b.op(name, OpKind::kTranspose, {x}, a);
}

ValueId reshape(NetBuilder& b, const std::string& name, ValueId x, const std::vector<int64_t>& s) {
  return b.op(name, OpKind::kReshape, {x, b.ints(name + ".shape", s)});
}

// N x T x D -> N x heads x T x d_head.
ValueId split_heads(NetBuilder& b, const std::string& name, ValueId x, const Dims& d) {
  return transpose(b, name + ".heads",
                   reshape(b, name + ".split", x, {0, 0, d.heads, d.head_width}), {0, 2, 1, 3});
}

ValueId attention(NetBuilder& b, const std::string& p, ValueId x, const Dims& d) {
  ValueId q = split_heads(b, p + ".q_proj", linear3d(b, p + ".q_proj", x, d.width, d.width), d);
  ValueId k = split_heads(b, p + ".k_proj", linear3d(b, p + ".k_proj", x, d.width, d.width), d);
  ValueId v = split_heads(b, p + ".v_proj", linear3d(b, p + ".v_proj", x, d.width, d.width), d);
  ValueId kt = transpose(b, p + ".k_proj.t", k, {0, 1, 3, 2});
  ValueId qk = b.op(p + ".qk", OpKind::kMatMul, {q, kt});
  float scale = 1.0F / std::sqrt(static_cast<float>(d.head_width));
  ValueId scores = b.op(p + ".scores", OpKind::kMul, {qk, b.scalar(p + ".scale", scale)});
  Attrs last;
  last.set("axis", int64_t{-1});
  ValueId weights = b.op(p + ".softmax", OpKind::kSoftmax, {scores}, last);
  ValueId context = b.op(p + ".context", OpKind::kMatMul, {weights, v});
  ValueId merged = reshape(b, p + ".merge", transpose(b, p + ".context.t", context, {0, 2, 1, 3}),
                           {0, 0, d.width});
  return linear3d(b, p + ".out_proj", merged, d.width, d.width);
}

// GELU as torch.onnx exports nn.GELU(): x * 0.5 * (1 + erf(x / sqrt(2))).
ValueId gelu(NetBuilder& b, const std::string& name, ValueId x) {
  ValueId e =
      b.op(name + ".erf", OpKind::kErf,
           {b.op(name + ".div", OpKind::kDiv, {x, b.scalar(name + ".sqrt2", std::sqrt(2.0F))})});
  ValueId one_plus = b.op(name + ".add", OpKind::kAdd, {e, b.scalar(name + ".one", 1.0F)});
  ValueId xy = b.op(name + ".mul", OpKind::kMul, {x, one_plus});
  return b.op(name, OpKind::kMul, {xy, b.scalar(name + ".half", 0.5F)});
}

ValueId encoder_layer(NetBuilder& b, const std::string& p, ValueId x, const Dims& d) {
  ValueId y = attention(b, p + ".self_attention", layer_norm(b, p + ".ln_1", x, d.width), d);
  x = b.add(p + ".add_1", x, y);
  ValueId h = linear3d(b, p + ".mlp.0", layer_norm(b, p + ".ln_2", x, d.width), d.width, d.mlp);
  h = linear3d(b, p + ".mlp.3", gelu(b, p + ".mlp.1", h), d.mlp, d.width);
  return b.add(p + ".add_2", x, h);
}

}  // namespace

Graph vit(const ModelOptions& o) {
  Graph g;
  g.name = "vit";
  g.opset = 17;
  NetBuilder b(g, o.seed);
  int64_t patch = std::min(o.height, o.width) <= 64 ? 4 : 16;
  FG_CHECK(o.height % patch == 0 && o.width % patch == 0, UsageError, "model 'vit': the input (",
           o.height, "x", o.width, ") must divide into ", patch, "x", patch, " patches");
  Dims d{};
  d.heads = kHeads;
  d.width = std::max<int64_t>(1, std::llround(64.0 * o.width_multiplier / kHeads)) * kHeads;
  d.head_width = d.width / d.heads;
  d.mlp = 2 * d.width;
  d.tokens = (o.height / patch) * (o.width / patch) + 1;

  ValueId x = b.input("input", o.channels, o.height, o.width);
  // conv_proj: torchvision's truncated normal with std sqrt(1 / fan_in), bias 0.
  double fan_in = static_cast<double>(o.channels * patch * patch);
  at::Tensor w = at::empty({d.width, o.channels, patch, patch})
                     .normal_(0.0, std::sqrt(1.0 / fan_in), b.generator())
                     .clamp_(-2.0 * std::sqrt(1.0 / fan_in), 2.0 * std::sqrt(1.0 / fan_in));
  Attrs conv;
  conv.set("kernel_shape", std::vector<int64_t>{patch, patch});
  conv.set("strides", std::vector<int64_t>{patch, patch});
  ValueId patches = b.op(
      "conv_proj", OpKind::kConv,
      {x, b.param("conv_proj.weight", w), b.param("conv_proj.bias", at::zeros({d.width}))}, conv);
  // N x D x h x w -> N x (h w) x D.
  ValueId tokens =
      transpose(b, "tokens", reshape(b, "flatten_patches", patches, {0, d.width, -1}), {0, 2, 1});
  // The class token for every sample: Expand to (N, 1, D), N read from the input's shape.
  ValueId n = b.op("batch_size", OpKind::kGather,
                   {b.op("input_shape", OpKind::kShape, {x}), b.ints("batch_size.index", {0})});
  ValueId cls_shape =
      b.op("class_token.shape", OpKind::kConcat, {n, b.ints("class_token.rest", {1, d.width})}, [] {
        Attrs a;
        a.set("axis", int64_t{0});
        return a;
      }());
  ValueId cls = b.op("class_token.expand", OpKind::kExpand,
                     {b.param("class_token", at::zeros({1, 1, d.width})), cls_shape});
  ValueId seq = b.op("prepend_class_token", OpKind::kConcat, {cls, tokens}, [] {
    Attrs a;
    a.set("axis", int64_t{1});
    return a;
  }());
  at::Tensor pos = at::empty({1, d.tokens, d.width}).normal_(0.0, 0.02, b.generator());
  x = b.op("encoder.add_pos_embedding", OpKind::kAdd, {seq, b.param("encoder.pos_embedding", pos)});
  for (int64_t i = 0; i < kLayers; ++i) {
    x = encoder_layer(b, fmt::format("encoder.layers.encoder_layer_{}", i), x, d);
  }
  x = layer_norm(b, "encoder.ln", x, d.width);
  // The class token's features: x[:, 0].
  Attrs axis1;
  axis1.set("axis", int64_t{1});
  ValueId first = b.op("class_token_features", OpKind::kGather,
                       {x, g.add_initializer("class_token_features.index",
                                             at::scalar_tensor(int64_t{0}, at::kLong))},
                       axis1);
  x = b.linear("heads.head", first, d.width, o.classes);
  g.add_output(x);
  return g;
}

}  // namespace fg::models
