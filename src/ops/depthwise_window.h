// A window of a depthwise convolution computed without oneDNN (ops/conv.cpp).
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace fg::ops {

// A window of a depthwise 2-d float convolution (one input and one output channel per
// group), its input already padded (N x G x H x W, contiguous): per output element the
// accumulator starts at the bias (or +0) and takes one fused multiply-add per tap, kernel
// rows outer, columns inner, as oneDNN's depthwise kernel does it (jit_uni_dw_conv: the bias
// loaded into the accumulator, a vfmadd231ps per tap). Such windows were a few taps of one
// channel each, and oneDNN's call (a kernel compiled per window shape, reorders to and from
// 16-channel blocks) cost about 57 us each in a MobileNetV2 campaign. The executor relies on the
// window only where it gives the whole layer's bits (Executor::windows_match, and per window
// shape).
at::Tensor depthwise_window(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias,
                            const std::vector<int64_t>& strides,
                            const std::vector<int64_t>& dilations);

// Whether depthwise_window takes its vector kernel for a 3x3 kernel (AVX-512, strides 1 or 2,
// no dilation); else a scalar loop (both the same bits).
bool depthwise_vector_geometry(const std::vector<int64_t>& strides,
                               const std::vector<int64_t>& dilations);

// Whether depthwise_window applies: float, no gradients wanted, x contiguous N x G x H x W,
// w G x 1 x KH x KW.
bool depthwise_window_applies(const at::Tensor& x, const at::Tensor& w, const at::Tensor& bias,
                              int64_t groups);

}  // namespace fg::ops
