// Convolutions with few output positions (src/ops/conv.cpp, kGemmMaxPositions): im2col +
// faultgraph's 1x1 kernel (ops/pointwise_conv.h, im2col_conv) against oneDNN on the same
// layers, side by side: ResNet-50's and InceptionV3's layers with 7 x 7 and 8 x 8 outputs,
// which faultgraph runs this way, and some of their 14 x 14 and 17 x 17 layers, which it
// leaves to oneDNN; batch 1, one thread. oneDNN runs as faultgraph runs its other
// convolutions (ops/dnnl_conv.h: the primitive and the blocked weight kept between calls,
// the input and output reordered from and to plain NCHW). Two cases per layer: "hot", one
// weight called again and again, and "cold", calls cycling through distinct weights of
// 96 MB in all, as a campaign meets them.
//   conv_gemm_bench [--seconds S]
// Prints microseconds per call, GFLOP/s, and oneDNN's time over faultgraph's (higher is
// better for faultgraph). Build with `scripts/setup release`.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

#include "ops/dnnl_conv.h"
#include "ops/pointwise_conv.h"
#include "weight_cycle.h"

int main(int argc, char** argv) {
  const double seconds = fg::bench::seconds_option(argc, argv, "conv_gemm_bench");
  at::set_num_threads(1);
  struct Layer {
    const char* model;
    int64_t cin, cout, size, kh, kw, stride, ph, pw;
  };
  const std::vector<Layer> layers = {
      {"resnet50", 512, 512, 7, 3, 3, 1, 1, 1},     {"resnet50", 512, 512, 14, 3, 3, 2, 1, 1},
      {"inception_v3", 448, 384, 8, 3, 3, 1, 1, 1}, {"inception_v3", 384, 384, 8, 3, 1, 1, 1, 0},
      {"inception_v3", 384, 384, 8, 1, 3, 1, 0, 1}, {"inception_v3", 192, 320, 17, 3, 3, 2, 0, 0},
      {"resnet50", 256, 256, 14, 3, 3, 1, 1, 1},    {"inception_v3", 192, 192, 17, 7, 1, 1, 3, 0},
      {"inception_v3", 192, 192, 17, 1, 7, 1, 0, 3}};
  fmt::print("convolutions, batch 1, 1 thread, {} s a case\n", seconds);
  fmt::print("{:<13} {:<26} {:<5} {:>14} {:>10} {:>10} {:>10} {:>7}\n", "model", "layer", "cache",
             "faultgraph us", "oneDNN us", "fg GF/s", "dnnl GF/s", "ratio");
  for (const Layer& l : layers) {
    const double bytes = 4.0 * static_cast<double>(l.cin * l.cout * l.kh * l.kw);
    const auto count = static_cast<size_t>(std::max(2.0, 96e6 / bytes));
    std::vector<at::Tensor> ws;
    for (size_t i = 0; i < count; ++i) ws.push_back(at::randn({l.cout, l.cin, l.kh, l.kw}));
    const at::Tensor x = at::randn({1, l.cin, l.size, l.size});
    const at::Tensor none;
    const std::vector<int64_t> strides{l.stride, l.stride}, pads{l.ph, l.pw}, one{1, 1};
    const int64_t oh = (l.size + 2 * l.ph - l.kh) / l.stride + 1;
    const int64_t ow = (l.size + 2 * l.pw - l.kw) / l.stride + 1;
    const double flops = 2.0 * static_cast<double>(l.cin * l.cout * l.kh * l.kw * oh * ow);
    for (const bool hot : {true, false}) {
      const double fg_s = fg::bench::per_call(ws, hot, seconds, [&](const at::Tensor& w) {
        fg::ops::im2col_conv(x, w, none, strides, pads, one, oh, ow);
      });
      const double dnnl_s = fg::bench::per_call(ws, hot, seconds, [&](const at::Tensor& w) {
        fg::ops::dnnl_conv2d(x, w, none, strides, pads, one, 1);
      });
      fmt::print("{:<13} {:<26} {:<5} {:>14.1f} {:>10.1f} {:>10.1f} {:>10.1f} {:>7.2f}\n", l.model,
                 fmt::format("{}->{} {}x{} k{}x{} s{} -> {}x{}", l.cin, l.cout, l.size, l.size,
                             l.kh, l.kw, l.stride, oh, ow),
                 hot ? "hot" : "cold", fg_s * 1e6, dnnl_s * 1e6, flops / fg_s / 1e9,
                 flops / dnnl_s / 1e9, dnnl_s / fg_s);
    }
  }
  return 0;
}
