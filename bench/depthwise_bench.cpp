// Depthwise convolutions (src/ops/conv.cpp, depthwise_window): faultgraph's vector kernel,
// which computes the windows of MobileNetV2's depthwise layers in a cone campaign, against
// oneDNN, which computes the whole layers, side by side: MobileNetV2's 3x3 depthwise shapes
// whole, and 10 x 10 windows of the 14 x 14 ones (a cone trial's typical window there);
// batch 1, one thread. The faultgraph side includes the padded copy of its input
// (window_input, as a window is made); oneDNN runs as faultgraph runs it (ops/dnnl_conv.h:
// the primitive and the blocked weight kept between calls, its best configuration here;
// padding inside the kernel). Whole layers stay on oneDNN, ahead on the small ones here.
//   depthwise_bench [--seconds S]
// Prints microseconds per call and oneDNN's time over faultgraph's (higher is better for
// faultgraph).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <vector>

#include "ops/common.h"
#include "ops/depthwise_window.h"
#include "ops/dnnl_conv.h"
#include "weight_cycle.h"

int main(int argc, char** argv) {
  const double seconds = fg::bench::seconds_option(argc, argv, "depthwise_bench");
  at::set_num_threads(1);
  struct Layer {
    int64_t channels, size, stride;
  };
  const std::vector<Layer> layers = {{32, 112, 1}, {96, 112, 2}, {144, 56, 1}, {144, 56, 2},
                                     {192, 28, 1}, {192, 28, 2}, {384, 14, 1}, {576, 14, 1},
                                     {576, 14, 2}, {960, 7, 1},  {384, 10, 1}, {576, 10, 1}};
  fmt::print("depthwise 3x3 convolutions (padding 1), batch 1, 1 thread, {} s a case\n", seconds);
  fmt::print("{:<22} {:>14} {:>10} {:>7}\n", "layer", "faultgraph us", "oneDNN us", "ratio");
  double worst = 1e9;
  for (const Layer& l : layers) {
    const at::Tensor x = at::randn({1, l.channels, l.size, l.size});
    const std::vector<at::Tensor> ws{at::randn({l.channels, 1, 3, 3})};
    const at::Tensor bias = at::randn({l.channels});
    const std::vector<int64_t> strides{l.stride, l.stride}, pads{1, 1}, one{1, 1};
    const int64_t out = (l.size - 1) / l.stride + 1;
    const fg::ops::Window window{{3, 3}, strides, one, {1, 1}, {1, 1}};
    const fg::Box whole = fg::Box::whole({1, l.channels, out, out});
    const double fg_s = fg::bench::per_call(ws, true, seconds, [&](const at::Tensor& w) {
      const at::Tensor xp =
          fg::ops::window_input(fg::WindowInput{x, {}, {}}, window, whole, 0, l.channels, 0.0);
      fg::ops::depthwise_window(xp, w, bias, strides, one);
    });
    const double dnnl_s = fg::bench::per_call(ws, true, seconds, [&](const at::Tensor& w) {
      fg::ops::dnnl_conv2d(x, w, bias, strides, pads, one, l.channels);
    });
    fmt::print(
        "{:<22} {:>14.1f} {:>10.1f} {:>7.2f}\n",
        fmt::format("{} ch {}x{} s{} -> {}x{}", l.channels, l.size, l.size, l.stride, out, out),
        fg_s * 1e6, dnnl_s * 1e6, dnnl_s / fg_s);
    worst = std::min(worst, dnnl_s / fg_s);
  }
  fmt::print("worst ratio {:.2f} (oneDNN's time over faultgraph's)\n", worst);
  return 0;
}
