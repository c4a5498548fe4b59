// ResNet-50 (torchvision's layout and names) and ResNet-20 (He et al. 2016, CIFAR).
#include <fmt/format.h>

#include "faultgraph/models/zoo.h"
#include "models/net_builder.h"

namespace fg::models {

namespace {

// conv -> bn (-> relu named `relu`, when given).
ValueId conv_bn(NetBuilder& b, const std::string& conv, const std::string& bn, ValueId x,
                const ConvSpec& s) {
  return b.batch_norm(bn, b.conv(conv, x, s), s.out);
}

// The block's output ReLU carries the block's name ("layer1.0"), like the module whose
// forward hook sees the block's output.
ValueId bottleneck(NetBuilder& b, const std::string& p, ValueId x, int64_t in, int64_t width,
                   int64_t out, int64_t stride) {
  ValueId y =
      b.relu(p + ".relu1", conv_bn(b, p + ".conv1", p + ".bn1", x, conv_spec(in, width, 1)));
  y = b.relu(p + ".relu2",
             conv_bn(b, p + ".conv2", p + ".bn2", y, conv_spec(width, width, 3, stride)));
  y = conv_bn(b, p + ".conv3", p + ".bn3", y, conv_spec(width, out, 1));
  ValueId shortcut = x;
  if (stride != 1 || in != out) {
    shortcut =
        conv_bn(b, p + ".downsample.0", p + ".downsample.1", x, conv_spec(in, out, 1, stride));
  }
  return b.relu(p, b.add(p + ".add", y, shortcut));
}

ValueId basic_block_a(NetBuilder& b, const std::string& p, ValueId x, int64_t in, int64_t out,
                      int64_t stride) {
  ValueId y =
      b.relu(p + ".relu1", conv_bn(b, p + ".conv1", p + ".bn1", x, conv_spec(in, out, 3, stride)));
  y = conv_bn(b, p + ".conv2", p + ".bn2", y, conv_spec(out, out, 3));
  ValueId shortcut = x;
  if (stride != 1 || in != out) {
    int64_t lo = (out - in) / 2;
    shortcut = b.subsample_pad_channels(p + ".shortcut", x, lo, out - in - lo);
  }
  return b.relu(p, b.add(p + ".add", y, shortcut));
}

ValueId head(NetBuilder& b, ValueId x, int64_t features, int64_t classes) {
  x = b.flatten("flatten", b.global_avg_pool("avgpool", x));
  return b.linear("fc", x, features, classes);
}

}  // namespace

// Full size: 7x7/2 stem convolution and 3x3/2 max pool. Inputs of at most 64 pixels a side:
// a 3x3/1 stem convolution and no pooling (the usual CIFAR adaptation).
Graph resnet50(const ModelOptions& o) {
  Graph g;
  g.name = "resnet50";
  g.opset = 13;
  NetBuilder b(g, o.seed);
  ValueId x = b.input("input", o.channels, o.height, o.width);
  bool small = std::min(o.height, o.width) <= 64;
  int64_t c = scaled(64, o.width_multiplier);
  x = small ? conv_bn(b, "conv1", "bn1", x, conv_spec(o.channels, c, 3, 1))
            : conv_bn(b, "conv1", "bn1", x, conv_spec(o.channels, c, 7, 2, 3));
  x = b.relu("relu", x);
  if (!small) x = b.max_pool("maxpool", x, 3, 2, 1);
  const int blocks[] = {3, 4, 6, 3};
  int64_t in = c;
  for (int layer = 0; layer < 4; ++layer) {
    int64_t width = scaled(int64_t{64} << layer, o.width_multiplier);
    int64_t out = 4 * width;
    for (int i = 0; i < blocks[layer]; ++i) {
      int64_t stride = (i == 0 && layer > 0) ? 2 : 1;
      x = bottleneck(b, fmt::format("layer{}.{}", layer + 1, i), x, in, width, out, stride);
      in = out;
    }
  }
  g.add_output(head(b, x, in, o.classes));
  return g;
}

// 3x3 stem convolution with 16 channels, three stages of three basic blocks (16, 32, 64
// channels; stride 2 entering stages 2 and 3) with parameter-free option-A shortcuts
// (subsample, zero channels), global average pool, fc: 0.27 M parameters.
Graph resnet20(const ModelOptions& o) {
  Graph g;
  g.name = "resnet20";
  g.opset = 13;
  NetBuilder b(g, o.seed);
  ValueId x = b.input("input", o.channels, o.height, o.width);
  int64_t in = scaled(16, o.width_multiplier);
  x = b.relu("relu", conv_bn(b, "conv1", "bn1", x, conv_spec(o.channels, in, 3)));
  for (int layer = 0; layer < 3; ++layer) {
    int64_t out = scaled(int64_t{16} << layer, o.width_multiplier);
    for (int i = 0; i < 3; ++i) {
      int64_t stride = (i == 0 && layer > 0) ? 2 : 1;
      x = basic_block_a(b, fmt::format("layer{}.{}", layer + 1, i), x, in, out, stride);
      in = out;
    }
  }
  g.add_output(head(b, x, in, o.classes));
  return g;
}

}  // namespace fg::models
