// 2-d float convolutions through oneDNN directly (the oneDNN that ATen links), with the
// primitives, the blocked weights and the work buffers kept between calls.
#pragma once

#include <ATen/ATen.h>

#include <optional>
#include <vector>

namespace fg::ops {

// y = conv2d(x, w, bias) at symmetric `padding`, as at::mkldnn_convolution computes it:
// the same oneDNN primitive (the descriptors ATen's ideep makes: formats left to oneDNN,
// forward, direct algorithm), so the same kernel and the same bits, without ATen's per-call
// work (descriptor and primitive look-ups, a reorder of the weight unless pre-packed,
// allocations of the blocked input and output), which cost more than the convolution
// itself on the small windows of a cone recompute (measured, 1 thread: a 5 x 5 depthwise
// window 29 us through ATen, 5 us here). nullopt where this path does not apply (not a
// float 2-d convolution, gradients wanted, a geometry oneDNN refuses): use ATen's.
std::optional<at::Tensor> dnnl_conv2d(const at::Tensor& x, const at::Tensor& w,
                                      const at::Tensor& bias, const std::vector<int64_t>& strides,
                                      const std::vector<int64_t>& padding,
                                      const std::vector<int64_t>& dilations, int64_t groups);

}  // namespace fg::ops
