// faultgraph's 1x1 convolution kernel (src/ops/pointwise_conv.cpp) against oneDNN on the
// same layers, side by side: ResNet-50's 1x1 layer shapes at 7 x 7 and 14 x 14, batch 1,
// one thread. oneDNN runs as faultgraph runs its other convolutions (ops/dnnl_conv.h: the
// primitive and the blocked weight kept between calls, its best configuration here; ATen's
// conv2d reorders the plain weight on every call). Two cases per layer: "hot", one weight
// called again and again (it stays in the caches), and "cold", calls cycling through
// distinct weights of 96 MB in all, as a campaign meets them (ResNet-50's last stage alone
// holds 60 MB of weights, more than this machine's L3 share).
//   pointwise_bench [--seconds S]
// Prints microseconds per call, GFLOP/s, and oneDNN's time over faultgraph's (higher is
// better for faultgraph). Build with `scripts/setup release`.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

#include "ops/common.h"
#include "ops/dnnl_conv.h"
#include "ops/pointwise_conv.h"
#include "weight_cycle.h"

int main(int argc, char** argv) {
  const double seconds = fg::bench::seconds_option(argc, argv, "pointwise_bench");
  at::set_num_threads(1);
  struct Layer {
    int64_t cin, cout, hw;
  };
  const std::vector<Layer> layers = {{2048, 512, 7},  {512, 2048, 7},  {1024, 2048, 7},
                                     {1024, 256, 14}, {256, 1024, 14}, {1024, 512, 14}};
  fmt::print("1x1 convolutions, batch 1, 1 thread, {} s a case\n", seconds);
  fmt::print("{:<18} {:<5} {:>14} {:>14} {:>10} {:>10} {:>7}\n", "layer", "cache", "faultgraph us",
             "oneDNN us", "fg GF/s", "dnnl GF/s", "ratio");
  double worst = 1e9;
  for (const Layer& l : layers) {
    const double bytes = 4.0 * static_cast<double>(l.cin * l.cout);
    const auto count = static_cast<size_t>(std::max(1.0, 96e6 / bytes));
    std::vector<at::Tensor> ws;
    for (size_t i = 0; i < count; ++i) ws.push_back(at::randn({l.cout, l.cin, 1, 1}));
    const at::Tensor x = at::randn({1, l.cin, l.hw, l.hw});
    const at::Tensor none;
    const double flops = 2.0 * static_cast<double>(l.cin * l.cout * l.hw * l.hw);
    for (const bool hot : {true, false}) {
      const double fg_s = fg::bench::per_call(ws, hot, seconds, [&](const at::Tensor& w) {
        fg::ops::pointwise_conv(x, w, none, fg::ops::PointwiseKernel::kBest);
      });
      const double dnnl_s = fg::bench::per_call(ws, hot, seconds, [&](const at::Tensor& w) {
        fg::ops::dnnl_conv2d(x, w, none, {1, 1}, {0, 0}, {1, 1}, 1);
      });
      worst = std::min(worst, dnnl_s / fg_s);
      fmt::print("{:<18} {:<5} {:>14.1f} {:>14.1f} {:>10.1f} {:>10.1f} {:>7.2f}\n",
                 fmt::format("{}->{} {}x{}", l.cin, l.cout, l.hw, l.hw), hot ? "hot" : "cold",
                 fg_s * 1e6, dnnl_s * 1e6, flops / fg_s / 1e9, flops / dnnl_s / 1e9, dnnl_s / fg_s);
    }
  }
  fmt::print("worst ratio {:.2f} (oneDNN's time over faultgraph's)\n", worst);

  // The choice between faultgraph's two kernels by number of positions (pointwise_conv's
  // kBest): output channels across the vector lanes against positions across them, on a
  // layer's plain 1x1 weights and on the 4608-row weights of a 3 x 3 layer's im2col, cold;
  // positions in a 1 x P row, as a batch of windows side by side meets them.
  const bool avx512 = fg::ops::has_avx512();
  const auto channels_kernel =
      avx512 ? fg::ops::PointwiseKernel::kChannels : fg::ops::PointwiseKernel::kAvx2Channels;
  const auto positions_kernel =
      avx512 ? fg::ops::PointwiseKernel::kPositions : fg::ops::PointwiseKernel::kAvx2;
  fmt::print("\nkernels by positions ({}), cold\n", avx512 ? "AVX-512" : "AVX2");
  fmt::print("{:<18} {:>9} {:>14} {:>14} {:>7}\n", "weights", "positions", "channels us",
             "positions us", "ratio");
  for (const int64_t cin : {512, 4608}) {
    const int64_t cout = 512;
    const auto count =
        static_cast<size_t>(std::max(1.0, 96e6 / (4.0 * static_cast<double>(cin * cout))));
    std::vector<at::Tensor> ws;
    for (size_t i = 0; i < count; ++i) ws.push_back(at::randn({cout, cin, 1, 1}));
    for (const int64_t p : {9, 49, 98, 196, 392, 784}) {
      const at::Tensor x = at::randn({1, cin, 1, p});
      const at::Tensor none;
      const double ch = fg::bench::per_call(ws, false, seconds, [&](const at::Tensor& w) {
        fg::ops::pointwise_conv(x, w, none, channels_kernel);
      });
      const double pos = fg::bench::per_call(ws, false, seconds, [&](const at::Tensor& w) {
        fg::ops::pointwise_conv(x, w, none, positions_kernel);
      });
      fmt::print("{:<18} {:>9} {:>14.1f} {:>14.1f} {:>7.2f}\n", fmt::format("{}->{}", cin, cout), p,
                 ch * 1e6, pos * 1e6, pos / ch);
    }
  }
  return 0;
}
