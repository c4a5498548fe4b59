// MobileNetV2 (Sandler et al. 2018) in torchvision's layout and names.
#include <fmt/format.h>

#include <cmath>

#include "faultgraph/models/zoo.h"
#include "models/net_builder.h"

namespace fg::models {

namespace {

// Conv2dNormActivation: "<p>.0" convolution, "<p>.1" BatchNorm, "<p>.2" ReLU6.
ValueId conv_bn_relu6(NetBuilder& b, const std::string& p, ValueId x, const ConvSpec& s) {
  x = b.batch_norm(p + ".1", b.conv(p + ".0", x, s), s.out);
  return b.relu6(p + ".2", x);
}

ValueId inverted_residual(NetBuilder& b, const std::string& p, ValueId x, int64_t in, int64_t out,
                          int64_t stride, int64_t expand) {
  auto hidden = static_cast<int64_t>(std::llround(static_cast<double>(in * expand)));
  int k = 0;
  ValueId y = x;
  if (expand != 1)
    y = conv_bn_relu6(b, fmt::format("{}.conv.{}", p, k++), y, conv_spec(in, hidden, 1));
  ConvSpec dw = conv_spec(hidden, hidden, 3, stride);
  dw.groups = hidden;
  y = conv_bn_relu6(b, fmt::format("{}.conv.{}", p, k++), y, dw);
  y = b.conv(fmt::format("{}.conv.{}", p, k++), y, conv_spec(hidden, out, 1));
  y = b.batch_norm(fmt::format("{}.conv.{}", p, k), y, out);
  // With a residual connection the Add carries the block's name.
  return stride == 1 && in == out ? b.add(p, x, y) : y;
}

}  // namespace

// Full size: stride-2 stem and torchvision's strides. Inputs of at most 64 pixels a side:
// stride 1 in the stem and in the first 24-channel block (as in common CIFAR versions),
// so a 32x32 input reaches the last stage at 4x4.
Graph mobilenet_v2(const ModelOptions& o) {
  Graph g;
  g.name = "mobilenet_v2";
  g.opset = 13;
  NetBuilder b(g, o.seed);
  bool small = std::min(o.height, o.width) <= 64;
  ValueId x = b.input("input", o.channels, o.height, o.width);
  int64_t in = make_divisible(32 * o.width_multiplier);
  int64_t last = make_divisible(1280 * std::max(1.0, o.width_multiplier));
  x = conv_bn_relu6(b, "features.0", x, conv_spec(o.channels, in, 3, small ? 1 : 2));
  struct Stage {
    int64_t expand, channels, repeats, stride;
  };
  const Stage stages[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                          {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  int index = 1;
  for (const Stage& s : stages) {
    int64_t out = make_divisible(static_cast<double>(s.channels) * o.width_multiplier);
    for (int64_t i = 0; i < s.repeats; ++i) {
      int64_t stride = i == 0 ? s.stride : 1;
      if (small && s.channels == 24) stride = 1;
      x = inverted_residual(b, fmt::format("features.{}", index++), x, in, out, stride, s.expand);
      in = out;
    }
  }
  x = conv_bn_relu6(b, fmt::format("features.{}", index), x, conv_spec(in, last, 1));
  x = b.flatten("flatten", b.global_avg_pool("avgpool", x));
  // classifier.0 is Dropout, an identity at inference.
  g.add_output(b.linear("classifier.1", x, last, o.classes, 0.01));
  return g;
}

}  // namespace fg::models
