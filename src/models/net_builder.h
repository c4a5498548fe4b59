// Building blocks for the built-in models: layers named as PyTorch names them, so a
// builder's initializers carry torchvision's state_dict keys ("layer1.0.conv1.weight",
// "layer1.0.bn1.running_mean") and its nodes the module names ("layer1.0.conv1").
// Weights are initialised as torchvision initialises them, from a seeded generator.
#pragma once

#include <ATen/ATen.h>

#include <array>
#include <cstdint>
#include <string>

#include "faultgraph/ir/graph.h"

namespace fg::models {

struct ConvSpec {
  int64_t in = 0, out = 0;
  std::array<int64_t, 2> kernel{1, 1};
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> pad{0, 0};
  int64_t groups = 1;
  bool bias = false;
};

inline ConvSpec conv_spec(int64_t in, int64_t out, int64_t k, int64_t stride = 1,
                          int64_t pad = -1) {
  if (pad < 0) pad = k / 2;
  return ConvSpec{in, out, {k, k}, {stride, stride}, {pad, pad}, 1, false};
}

enum class ConvInit {
  kKaimingNormalFanOut,  // ResNet, MobileNetV2: normal(0, sqrt(2 / fan_out))
  kTruncatedNormal01,    // InceptionV3: truncated normal(0, 0.1) in [-0.2, 0.2]
};

class NetBuilder {
 public:
  NetBuilder(Graph& g, uint64_t seed);

  ValueId input(const std::string& name, int64_t channels, int64_t height, int64_t width);
  ValueId conv(const std::string& name, ValueId x, const ConvSpec& s,
               ConvInit init = ConvInit::kKaimingNormalFanOut);
  // BatchNorm in inference form: weight 1, bias 0, running mean 0, variance 1.
  ValueId batch_norm(const std::string& name, ValueId x, int64_t channels, double eps = 1e-5);
  ValueId relu(const std::string& name, ValueId x);
  ValueId relu6(const std::string& name, ValueId x);
  ValueId max_pool(const std::string& name, ValueId x, int64_t k, int64_t stride, int64_t pad = 0,
                   bool ceil = false);
  ValueId avg_pool(const std::string& name, ValueId x, int64_t k, int64_t stride, int64_t pad);
  ValueId global_avg_pool(const std::string& name, ValueId x);
  ValueId flatten(const std::string& name, ValueId x);
  // Linear layer (PyTorch's default initialisation unless `init_std` > 0: normal(0, std)).
  ValueId linear(const std::string& name, ValueId x, int64_t in, int64_t out,
                 double init_std = 0.0);
  ValueId add(const std::string& name, ValueId a, ValueId b);
  ValueId concat(const std::string& name, const std::vector<ValueId>& xs);
  // x[:, :, ::2, ::2] with zero channels added before (`lo`) and after (`hi`): the
  // parameter-free shortcut of ResNet's option A.
  ValueId subsample_pad_channels(const std::string& name, ValueId x, int64_t lo, int64_t hi);

  // Any node with one output named `name + "_out"`.
  ValueId op(const std::string& name, OpKind kind, const std::vector<ValueId>& inputs,
             Attrs attrs = {});
  ValueId param(const std::string& name, at::Tensor value) {
    return g_.add_initializer(name, std::move(value));
  }
  ValueId ints(const std::string& name, const std::vector<int64_t>& v);
  ValueId scalar(const std::string& name, float v);
  at::Generator& generator() { return gen_; }

  Graph& graph() { return g_; }

 private:
  ValueId out(NodeId n) const { return g_.node(n).outputs[0]; }
  ValueId constant(const std::string& name, at::Tensor value);
  Graph& g_;
  at::Generator gen_;
};

// Channel count scaled by a width multiplier, at least 1.
int64_t scaled(int64_t channels, double width);
// MobileNetV2's rounding: to a multiple of 8, never more than 10% below.
int64_t make_divisible(double channels, int64_t divisor = 8);

}  // namespace fg::models
