// Inception v3 (Szegedy et al. 2016) in torchvision's layout and names, without the
// auxiliary classifier (torchvision's inception_v3(aux_logits=False), eval-mode graph).
#include <fmt/format.h>

#include "faultgraph/models/zoo.h"
#include "models/net_builder.h"

namespace fg::models {

namespace {

class Inception {
 public:
  Inception(NetBuilder& b, double width) : b_(b), width_(width) {}

  // BasicConv2d: "<p>.conv" (no bias), "<p>.bn" (eps 0.001), ReLU named "<p>".
  ValueId conv(const std::string& p, ValueId x, int64_t in, int64_t out, std::array<int64_t, 2> k,
               std::array<int64_t, 2> pad = {0, 0}, int64_t stride = 1) {
    ConvSpec s{in, out, k, {stride, stride}, pad, 1, false};
    x = b_.batch_norm(p + ".bn", b_.conv(p + ".conv", x, s, ConvInit::kTruncatedNormal01), out,
                      1e-3);
    return b_.relu(p, x);
  }
  ValueId conv(const std::string& p, ValueId x, int64_t in, int64_t out, int64_t k, int64_t pad = 0,
               int64_t stride = 1) {
    return conv(p, x, in, out, {k, k}, {pad, pad}, stride);
  }
  int64_t c(int64_t channels) const { return scaled(channels, width_); }

  // Each block returns its output; `in` becomes the output's channel count.
  ValueId a(const std::string& p, ValueId x, int64_t& in, int64_t pool_features) {
    ValueId b1 = conv(p + ".branch1x1", x, in, c(64), 1);
    ValueId b5 = conv(p + ".branch5x5_1", x, in, c(48), 1);
    b5 = conv(p + ".branch5x5_2", b5, c(48), c(64), 5, 2);
    ValueId b3 = conv(p + ".branch3x3dbl_1", x, in, c(64), 1);
    b3 = conv(p + ".branch3x3dbl_2", b3, c(64), c(96), 3, 1);
    b3 = conv(p + ".branch3x3dbl_3", b3, c(96), c(96), 3, 1);
    ValueId bp = b_.avg_pool(p + ".avg_pool", x, 3, 1, 1);
    bp = conv(p + ".branch_pool", bp, in, c(pool_features), 1);
    in = c(64) + c(64) + c(96) + c(pool_features);
    return b_.concat(p, {b1, b5, b3, bp});
  }
  ValueId b(const std::string& p, ValueId x, int64_t& in) {
    ValueId b3 = conv(p + ".branch3x3", x, in, c(384), 3, 0, 2);
    ValueId bd = conv(p + ".branch3x3dbl_1", x, in, c(64), 1);
    bd = conv(p + ".branch3x3dbl_2", bd, c(64), c(96), 3, 1);
    bd = conv(p + ".branch3x3dbl_3", bd, c(96), c(96), 3, 0, 2);
    ValueId bp = b_.max_pool(p + ".max_pool", x, 3, 2);
    in = c(384) + c(96) + in;
    return b_.concat(p, {b3, bd, bp});
  }
  ValueId c7(const std::string& p, ValueId x, int64_t& in, int64_t channels_7x7) {
    int64_t m = c(channels_7x7);
    ValueId b1 = conv(p + ".branch1x1", x, in, c(192), 1);
    ValueId b7 = conv(p + ".branch7x7_1", x, in, m, 1);
    b7 = conv(p + ".branch7x7_2", b7, m, m, {1, 7}, {0, 3});
    b7 = conv(p + ".branch7x7_3", b7, m, c(192), {7, 1}, {3, 0});
    ValueId bd = conv(p + ".branch7x7dbl_1", x, in, m, 1);
    bd = conv(p + ".branch7x7dbl_2", bd, m, m, {7, 1}, {3, 0});
    bd = conv(p + ".branch7x7dbl_3", bd, m, m, {1, 7}, {0, 3});
    bd = conv(p + ".branch7x7dbl_4", bd, m, m, {7, 1}, {3, 0});
    bd = conv(p + ".branch7x7dbl_5", bd, m, c(192), {1, 7}, {0, 3});
    ValueId bp = b_.avg_pool(p + ".avg_pool", x, 3, 1, 1);
    bp = conv(p + ".branch_pool", bp, in, c(192), 1);
    in = 4 * c(192);
    return b_.concat(p, {b1, b7, bd, bp});
  }
  ValueId d(const std::string& p, ValueId x, int64_t& in) {
    ValueId b3 = conv(p + ".branch3x3_1", x, in, c(192), 1);
    b3 = conv(p + ".branch3x3_2", b3, c(192), c(320), 3, 0, 2);
    ValueId b7 = conv(p + ".branch7x7x3_1", x, in, c(192), 1);
    b7 = conv(p + ".branch7x7x3_2", b7, c(192), c(192), {1, 7}, {0, 3});
    b7 = conv(p + ".branch7x7x3_3", b7, c(192), c(192), {7, 1}, {3, 0});
    b7 = conv(p + ".branch7x7x3_4", b7, c(192), c(192), 3, 0, 2);
    ValueId bp = b_.max_pool(p + ".max_pool", x, 3, 2);
    in = c(320) + c(192) + in;
    return b_.concat(p, {b3, b7, bp});
  }
  ValueId e(const std::string& p, ValueId x, int64_t& in) {
    ValueId b1 = conv(p + ".branch1x1", x, in, c(320), 1);
    ValueId b3 = conv(p + ".branch3x3_1", x, in, c(384), 1);
    b3 = b_.concat(p + ".branch3x3",
                   {conv(p + ".branch3x3_2a", b3, c(384), c(384), {1, 3}, {0, 1}),
                    conv(p + ".branch3x3_2b", b3, c(384), c(384), {3, 1}, {1, 0})});
    ValueId bd = conv(p + ".branch3x3dbl_1", x, in, c(448), 1);
    bd = conv(p + ".branch3x3dbl_2", bd, c(448), c(384), 3, 1);
    bd = b_.concat(p + ".branch3x3dbl",
                   {conv(p + ".branch3x3dbl_3a", bd, c(384), c(384), {1, 3}, {0, 1}),
                    conv(p + ".branch3x3dbl_3b", bd, c(384), c(384), {3, 1}, {1, 0})});
    ValueId bp = b_.avg_pool(p + ".avg_pool", x, 3, 1, 1);
    bp = conv(p + ".branch_pool", bp, in, c(192), 1);
    in = c(320) + 2 * c(384) + 2 * c(384) + c(192);
    return b_.concat(p, {b1, b3, bd, bp});
  }

 private:
  NetBuilder& b_;
  double width_;
};

}  // namespace

// Full size (inputs of at least 75 pixels a side, 299x299 by default): torchvision's stem.
// Smaller inputs (e.g. 28x28 or 32x32): every stem convolution keeps the size (stride 1,
// padding 1) and the two stem max pools are left out, so the Inception blocks see the
// full image (32x32 reaches Mixed_7 at 7x7).
Graph inception_v3(const ModelOptions& o) {
  Graph g;
  g.name = "inception_v3";
  g.opset = 13;
  NetBuilder nb(g, o.seed);
  Inception m(nb, o.width_multiplier);
  bool small = std::min(o.height, o.width) < 75;
  ValueId x = nb.input("input", o.channels, o.height, o.width);
  int64_t p = small ? 1 : 0;
  x = m.conv("Conv2d_1a_3x3", x, o.channels, m.c(32), 3, p, small ? 1 : 2);
  x = m.conv("Conv2d_2a_3x3", x, m.c(32), m.c(32), 3, p);
  x = m.conv("Conv2d_2b_3x3", x, m.c(32), m.c(64), 3, 1);
  if (!small) x = nb.max_pool("maxpool1", x, 3, 2);
  x = m.conv("Conv2d_3b_1x1", x, m.c(64), m.c(80), 1);
  x = m.conv("Conv2d_4a_3x3", x, m.c(80), m.c(192), 3, p);
  if (!small) x = nb.max_pool("maxpool2", x, 3, 2);
  int64_t in = m.c(192);
  x = m.a("Mixed_5b", x, in, 32);
  x = m.a("Mixed_5c", x, in, 64);
  x = m.a("Mixed_5d", x, in, 64);
  x = m.b("Mixed_6a", x, in);
  x = m.c7("Mixed_6b", x, in, 128);
  x = m.c7("Mixed_6c", x, in, 160);
  x = m.c7("Mixed_6d", x, in, 160);
  x = m.c7("Mixed_6e", x, in, 192);
  x = m.d("Mixed_7a", x, in);
  x = m.e("Mixed_7b", x, in);
  x = m.e("Mixed_7c", x, in);
  x = nb.flatten("flatten", nb.global_avg_pool("avgpool", x));
  // dropout is an identity at inference.
  g.add_output(nb.linear("fc", x, in, o.classes, 0.1));
  return g;
}

}  // namespace fg::models
