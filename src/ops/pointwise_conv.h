// 1x1 convolutions (group 1, no padding) on faultgraph's own kernel (ops/pointwise_conv.cpp).
#pragma once

#include <ATen/ATen.h>

#include <optional>
#include <utility>
#include <vector>

namespace fg::ops {

// Which kernel: the faster for the shape (kBest), or one of them (the tests compare them):
// positions across vector lanes (AVX-512; AVX2 on CPUs without it), output channels across
// lanes (AVX-512, for few positions; AVX2 on CPUs without it), positions or output channels
// across AVX2 lanes (where the CPU has AVX2 and FMA; else portable), or portable C++ (fused
// multiply-adds, no vector code of ours). All give the same bits.
enum class PointwiseKernel { kBest, kPositions, kChannels, kAvx2, kAvx2Channels, kPortable };

// y = conv2d(x, w, bias) for a 1 x 1 kernel, stride 1, no padding, group 1: x N x Cin x H x W
// contiguous float, w Cout x Cin x 1 x 1, y N x Cout x H x W. Every output element is the
// same sum whatever the shape of x, the batch, the thread count or the CPU: the accumulator
// starts at +0, takes one fused multiply-add per input channel in ascending order, then the
// bias is added. So a window of the layer (any box of its positions, any of its output
// channels: the rows of w and bias given) gives exactly the whole layer's bits, which
// oneDNN's 1x1 kernel did not (it blocks its sums by the output's shape: windows stretched
// to 11, 28 rows or full height, a kernel compiled per window shape, reorders to and from
// 16-channel blocks).
at::Tensor pointwise_conv(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias,
                          PointwiseKernel kernel = PointwiseKernel::kBest);

// Whether pointwise_conv applies to these tensors: float, no gradients wanted, x 4-d, w
// Cout x Cin x 1 x 1 with Cin = x's channels, bias undefined or Cout floats.
bool pointwise_conv_applies(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias);

// y = conv2d(x, w, bias) of group 1 as im2col + pointwise_conv, for any kernel, stride,
// dilation and padding (pad_begin: zeros before the input; the output is oh x ow, which
// sets the padding after it): each output element is one chain of fused multiply-adds over
// (input channel, kernel row, kernel column) in order from +0, then the bias. So a window
// (the input it reads, padding applied, and the rows of w) gives the whole layer's bits at
// any batch, thread count or CPU. nullopt where it does not apply: not float 4-d tensors
// with w's input channels = x's, or gradients wanted.
std::optional<at::Tensor> im2col_conv(const at::Tensor& x, const at::Tensor& w,
                                      const at::Tensor& bias, at::IntArrayRef strides,
                                      at::IntArrayRef pad_begin, at::IntArrayRef dilations,
                                      int64_t oh, int64_t ow);

// pointwise_conv of several inputs (each 1 x Cin x H_i x W_i, any strides) with one weight:
// their positions side by side as one GEMM, so that the weights pass through the caches once
// for all of them (a campaign's windows of one layer, one per trial: a window of a 7 x 7
// layer uses each weight a few times, so alone it ran at the speed the weights stream from
// memory). Each output (1 x Cout x H_i x W_i) has the bits pointwise_conv gives its input
// alone: every element is the same chain of fused multiply-adds, whatever the positions
// beside it. nullopt where pointwise_conv_applies does not hold for one of them.
std::optional<std::vector<at::Tensor>> pointwise_conv_many(const std::vector<at::Tensor>& xs,
                                                           const at::Tensor& w,
                                                           const at::Tensor& bias);

// im2col_conv of several inputs with one weight, as pointwise_conv_many: xs[i] (1 x C x H_i x
// W_i) the input of window i with its padding applied (pad_begin 0), out[i] its output size
// (rows, columns). Each output has the bits im2col_conv gives that window alone.
std::optional<std::vector<at::Tensor>> im2col_conv_many(
    const std::vector<at::Tensor>& xs, const at::Tensor& w, const at::Tensor& bias,
    at::IntArrayRef strides, at::IntArrayRef dilations,
    const std::vector<std::pair<int64_t, int64_t>>& out);

}  // namespace fg::ops
