#include "models/net_builder.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>

namespace fg::models {

NetBuilder::NetBuilder(Graph& g, uint64_t seed)
    : g_(g), gen_(at::make_generator<at::CPUGeneratorImpl>(seed)) {}

ValueId NetBuilder::input(const std::string& name, int64_t channels, int64_t height,
                          int64_t width) {
  return g_.add_input(name, DType::kFloat32, {kUnknownDim, channels, height, width});
}

ValueId NetBuilder::conv(const std::string& name, ValueId x, const ConvSpec& s, ConvInit init) {
  std::vector<int64_t> shape{s.out, s.in / s.groups, s.kernel[0], s.kernel[1]};
  at::Tensor w = at::empty(shape);
  if (init == ConvInit::kKaimingNormalFanOut) {
    double fan_out = static_cast<double>(s.out * s.kernel[0] * s.kernel[1]);
    w.normal_(0.0, std::sqrt(2.0 / fan_out), gen_);
  } else {
    w.normal_(0.0, 0.1, gen_).clamp_(-2.0, 2.0);
  }
  std::vector<ValueId> inputs{x, g_.add_initializer(name + ".weight", w)};
  if (s.bias) inputs.push_back(g_.add_initializer(name + ".bias", at::zeros({s.out})));
  Attrs a;
  a.set("kernel_shape", std::vector<int64_t>{s.kernel[0], s.kernel[1]});
  a.set("strides", std::vector<int64_t>{s.stride[0], s.stride[1]});
  a.set("pads", std::vector<int64_t>{s.pad[0], s.pad[1], s.pad[0], s.pad[1]});
  a.set("group", s.groups);
  return out(g_.add_node(name, OpKind::kConv, inputs, {name + "_out"}, a));
}

ValueId NetBuilder::batch_norm(const std::string& name, ValueId x, int64_t channels, double eps) {
  std::vector<ValueId> inputs{x, g_.add_initializer(name + ".weight", at::ones({channels})),
                              g_.add_initializer(name + ".bias", at::zeros({channels})),
                              g_.add_initializer(name + ".running_mean", at::zeros({channels})),
                              g_.add_initializer(name + ".running_var", at::ones({channels}))};
  Attrs a;
  a.set("epsilon", eps);
  a.set("momentum", 0.9);  // ONNX's convention: running = momentum * running + (1 - m) * batch
  return out(g_.add_node(name, OpKind::kBatchNormalization, inputs, {name + "_out"}, a));
}

ValueId NetBuilder::relu(const std::string& name, ValueId x) {
  return out(g_.add_node(name, OpKind::kRelu, {x}, {name + "_out"}));
}

ValueId NetBuilder::constant(const std::string& name, at::Tensor value) {
  Attrs a;
  a.set("value", std::move(value));
  return out(g_.add_node(name, OpKind::kConstant, {}, {name + "_out"}, a));
}

ValueId NetBuilder::relu6(const std::string& name, ValueId x) {
  ValueId lo = constant(name + "/min", at::scalar_tensor(0.0F));
  ValueId hi = constant(name + "/max", at::scalar_tensor(6.0F));
  return out(g_.add_node(name, OpKind::kClip, {x, lo, hi}, {name + "_out"}));
}

ValueId NetBuilder::max_pool(const std::string& name, ValueId x, int64_t k, int64_t stride,
                             int64_t pad, bool ceil) {
  Attrs a;
  a.set("kernel_shape", std::vector<int64_t>{k, k});
  a.set("strides", std::vector<int64_t>{stride, stride});
  a.set("pads", std::vector<int64_t>{pad, pad, pad, pad});
  if (ceil) a.set("ceil_mode", int64_t{1});
  return out(g_.add_node(name, OpKind::kMaxPool, {x}, {name + "_out"}, a));
}

ValueId NetBuilder::avg_pool(const std::string& name, ValueId x, int64_t k, int64_t stride,
                             int64_t pad) {
  Attrs a;
  a.set("kernel_shape", std::vector<int64_t>{k, k});
  a.set("strides", std::vector<int64_t>{stride, stride});
  a.set("pads", std::vector<int64_t>{pad, pad, pad, pad});
  a.set("count_include_pad", int64_t{1});  // PyTorch's default
  return out(g_.add_node(name, OpKind::kAveragePool, {x}, {name + "_out"}, a));
}

ValueId NetBuilder::global_avg_pool(const std::string& name, ValueId x) {
  return out(g_.add_node(name, OpKind::kGlobalAveragePool, {x}, {name + "_out"}));
}

ValueId NetBuilder::flatten(const std::string& name, ValueId x) {
  Attrs a;
  a.set("axis", int64_t{1});
  return out(g_.add_node(name, OpKind::kFlatten, {x}, {name + "_out"}, a));
}

ValueId NetBuilder::linear(const std::string& name, ValueId x, int64_t in, int64_t out_features,
                           double init_std) {
  double bound = 1.0 / std::sqrt(static_cast<double>(in));
  at::Tensor w = at::empty({out_features, in});
  at::Tensor b = at::empty({out_features});
  if (init_std > 0) {
    w.normal_(0.0, init_std, gen_);
    b.zero_();
  } else {
    w.uniform_(-bound, bound, gen_);
    b.uniform_(-bound, bound, gen_);
  }
  Attrs a;
  a.set("transB", int64_t{1});
  return out(g_.add_node(
      name, OpKind::kGemm,
      {x, g_.add_initializer(name + ".weight", w), g_.add_initializer(name + ".bias", b)},
      {name + "_out"}, a));
}

ValueId NetBuilder::add(const std::string& name, ValueId a, ValueId b) {
  return out(g_.add_node(name, OpKind::kAdd, {a, b}, {name + "_out"}));
}

ValueId NetBuilder::concat(const std::string& name, const std::vector<ValueId>& xs) {
  Attrs a;
  a.set("axis", int64_t{1});
  return out(g_.add_node(name, OpKind::kConcat, xs, {name + "_out"}, a));
}

ValueId NetBuilder::subsample_pad_channels(const std::string& name, ValueId x, int64_t lo,
                                           int64_t hi) {
  auto ints = [&](const std::string& what, std::vector<int64_t> v) {
    return g_.add_initializer(name + "." + what,
                              at::tensor(v, at::TensorOptions().dtype(at::kLong)));
  };
  ValueId sliced = out(g_.add_node(name + "/subsample", OpKind::kSlice,
                                   {x, ints("starts", {0, 0}), ints("ends", {INT64_MAX, INT64_MAX}),
                                    ints("axes", {2, 3}), ints("steps", {2, 2})},
                                   {name + "/subsample_out"}));
  return out(g_.add_node(name, OpKind::kPad, {sliced, ints("pads", {0, lo, 0, 0, 0, hi, 0, 0})},
                         {name + "_out"}));
}

ValueId NetBuilder::op(const std::string& name, OpKind kind, const std::vector<ValueId>& inputs,
                       Attrs attrs) {
  return out(g_.add_node(name, kind, inputs, {name + "_out"}, std::move(attrs)));
}

ValueId NetBuilder::ints(const std::string& name, const std::vector<int64_t>& v) {
  return g_.add_initializer(name, at::tensor(v, at::TensorOptions().dtype(at::kLong)));
}

ValueId NetBuilder::scalar(const std::string& name, float v) {
  return g_.add_initializer(name, at::scalar_tensor(v));
}

int64_t scaled(int64_t channels, double width) {
  return std::max<int64_t>(1, std::llround(static_cast<double>(channels) * width));
}

int64_t make_divisible(double channels, int64_t divisor) {
  auto d = static_cast<double>(divisor);
  int64_t v =
      std::max<int64_t>(divisor, static_cast<int64_t>(channels + d / 2) / divisor * divisor);
  if (static_cast<double>(v) < 0.9 * channels) v += divisor;
  return v;
}

}  // namespace fg::models
