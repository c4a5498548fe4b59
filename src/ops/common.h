// Helpers shared by the op files: shape arithmetic with unknown dims, attribute and
// constant-input access, window (conv/pool) geometry.
#pragma once

#include <ATen/ATen.h>

#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "faultgraph/core/error.h"
#include "faultgraph/ops/op.h"

namespace fg::ops {

// A single output with the input's type (elementwise unary ops).
std::vector<TensorInfo> same_as_input(const OpContext& ctx);
TensorInfo make_info(DType dtype, Shape shape);
TensorInfo unknown_rank(DType dtype);

// Input i; throws ShapeError when its rank is known and differs from `rank`.
const TensorInfo& input_with_rank(const OpContext& ctx, size_t i, int64_t rank);

// Numpy-style broadcast of two shapes; ShapeError naming the node when incompatible.
Shape broadcast_shapes(const OpContext& ctx, const Shape& a, const Shape& b);
// `axis` in [-rank, rank) made non-negative; ModelFormatError otherwise.
int64_t normalize_axis(const OpContext& ctx, int64_t axis, int64_t rank, const char* what = "axis");

// The integer contents of constant input i (an initializer, a Constant, or a value
// computed at inference time), if known.
std::optional<std::vector<int64_t>> const_ints(const OpContext& ctx, size_t i);
std::optional<double> const_scalar(const OpContext& ctx, size_t i);
std::vector<int64_t> tensor_to_ints(const at::Tensor& t);

// A tensor of `shape` with `item_size`-byte elements must fit in this machine's memory:
// checked before a kernel allocates a size that a model's values chose (Range, Expand,
// ConstantOfShape, Pad) and for every inferred shape, so that a hostile or broken model
// gets an error naming its node instead of ATen's "can't allocate N bytes".
// a x b for FLOP counts of sizes a model claims, INT64_MAX where that passes 64 bits
// (a, b >= 0): a count too large to matter, never an overflow.
inline int64_t saturating_mul(int64_t a, int64_t b) {
  int64_t r = 0;
  return __builtin_mul_overflow(a, b, &r) ? std::numeric_limits<int64_t>::max() : r;
}
inline int64_t saturating_add(int64_t a, int64_t b) {
  int64_t r = 0;
  return __builtin_add_overflow(a, b, &r) ? std::numeric_limits<int64_t>::max() : r;
}

// `what` says whose shape it is in the message ("the output would be", "declares").
void check_fits_in_memory(const std::string& where, std::span<const int64_t> shape,
                          int64_t item_size, const char* what = "the output would be");

// Integer list that comes from attribute `attr` before opset `input_since`, and from
// constant input `input` from then on; nullopt when neither is present.
std::optional<std::vector<int64_t>> ints_from_attr_or_input(const OpContext& ctx, const char* attr,
                                                            size_t input, int64_t input_since);

// Geometry of a sliding window op (Conv, MaxPool, AveragePool) over the spatial dims.
struct Window {
  std::vector<int64_t> kernel, strides, dilations;
  std::vector<int64_t> pad_begin, pad_end;
  bool ceil_mode = false;
  bool symmetric() const { return pad_begin == pad_end; }
};
// Reads kernel_shape (or `kernel` when given), strides, dilations, pads, auto_pad and
// ceil_mode; auto_pad SAME_* needs the spatial input dims.
Window parse_window(const OpContext& ctx, const Shape& input_spatial,
                    std::optional<std::vector<int64_t>> kernel = std::nullopt);
// Output spatial dims (kUnknownDim where the input dim is unknown).
Shape window_output(const OpContext& ctx, const Window& w, const Shape& input_spatial);
// Pads x's trailing spatial dims by (begin, end) with `value` ATen-style.
at::Tensor pad_spatial(const at::Tensor& x, const Window& w, double value);

inline at::IntArrayRef ref(const std::vector<int64_t>& v) { return at::IntArrayRef(v); }

// Whether this CPU runs AVX-512F (faultgraph's own kernels pick their vector paths by it).
bool has_avx512();
// Whether it runs AVX2 and FMA (the vector paths for CPUs without AVX-512).
bool has_avx2_fma();
}  // namespace fg::ops

namespace fg::ops {
// Elementwise binary op with broadcasting (Add, Sub, Mul, Div): inference.
std::vector<TensorInfo> broadcast_infer(const OpContext& ctx);
// Comparisons (Equal, Greater, Less): both inputs of one type, a bool output of the
// broadcast shape.
std::vector<TensorInfo> compare_infer(const OpContext& ctx);
// Kernel for `out = f(a, b)`; uses `f_(a, b)` in place on a when a may be overwritten and
// already has the output's shape and type.
Kernel binary_kernel(at::Tensor (*f)(const at::Tensor&, const at::Tensor&),
                     at::Tensor& (*f_)(at::Tensor&, const at::Tensor&));
// Kernel for `out = f(x)`, in place through f_ when x may be overwritten.
Kernel unary_kernel(at::Tensor (*f)(const at::Tensor&), at::Tensor& (*f_)(at::Tensor&));
// Clip and Relu on floats: y = lo > x ? lo : x, then hi < y ? hi : y, per element: ATen's
// clamp on every input (a NaN stays NaN, -0 stays -0, as Debian's PyTorch 1.13 gives), without
// its dispatch and iterator, which cost more than the comparisons on a window of a few
// thousand elements (MobileNetV2 campaign, 1 thread, Zen 3: Clip windows 26-28.5 -> 21.6-23.7
// us a call, whole layers 49-52 -> 42-47). Into x itself when in_place. Applies to a
// contiguous float CPU tensor without autograd and bounds that are not NaN (lo = -inf, hi =
// +inf for none).
bool clamp_float_applies(const at::Tensor& x, double lo, double hi);
at::Tensor clamp_float(const at::Tensor& x, float lo, float hi, bool in_place);
}  // namespace fg::ops

namespace fg::ops {
// Softmax and LogSoftmax: `f(x, dim)` along `axis`, with the pre-opset-13 meaning (a 2-d
// view, dims before axis x dims from axis on, axis default 1) or the later one (the single
// dim `axis`, default -1).
Kernel normalize_along_axis_kernel(const OpContext& ctx,
                                   at::Tensor (*f)(const at::Tensor&, int64_t));
// Three operations per output element (exp, sum, divide).
int64_t softmax_flops(const OpContext& ctx, std::span<const TensorInfo> out);

// GlobalAveragePool / GlobalMaxPool: N x C x spatial -> N x C x 1 x ... x 1.
std::vector<TensorInfo> global_pool_infer(const OpContext& ctx);
int64_t global_pool_flops(const OpContext& ctx, std::span<const TensorInfo> out);
std::vector<int64_t> spatial_dims(const OpContext& ctx);
}  // namespace fg::ops

namespace fg::ops {
// Windowed recompute (Region, op.h) helpers.
// Element-wise ops with numpy broadcasting: a changed box reaches the same box of the output
// (a broadcast dim of that input: the whole dim); computed by the op's own kernel on slices.
// nullopt when a shape is unknown.
// `exact`: the op is one correctly rounded operation per element (add, multiply, max,
// clamp), so a slice gives the same bits as the whole tensor; transcendental functions and
// fused multiply-adds may round differently in a vector loop's body and its tail.
std::optional<Region> elementwise_region(const OpContext& ctx, Kernel kernel, bool exact);
template <Kernel (*Prepare)(const OpContext&), bool Exact = true>
std::optional<Region> elementwise_region_of(const OpContext& ctx) {
  return elementwise_region(ctx, Prepare(ctx), Exact);
}
// The part `want` of a tensor `t` that holds the box `have` (want inside have).
at::Tensor relative_part(const at::Tensor& t, const Box& have, const Box& want);
// Sliding windows: the output positions [lo, hi) of a dim of `out_len` that read any input
// position in [in_lo, in_hi).
std::pair<int64_t, int64_t> window_reach(const Window& w, size_t dim, int64_t in_lo, int64_t in_hi,
                                         int64_t out_len);
// What of the input `x` (N x C x spatial) the output positions of `out` read: the batch of
// `out`, channels [c0, c1), the spatial windows (dims from 2), padded with `pad_value` where
// the window passes the edges: a window op with no padding over it gives exactly those
// outputs. `slack`: per spatial dim, rows or columns read after the window's last one that
// the op does not use (the whole input's own slack: a stride-2 1x1 convolution over 56 rows
// reads 55; oneDNN sums a window like the whole layer only when they agree).
at::Tensor window_input(const WindowInput& x, const Window& w, const Box& out, int64_t c0,
                        int64_t c1, double pad_value, std::span<const int64_t> slack = {});
// Whether a float N x C x H x W input of known shape can run a 2-d pool on faultgraph's own
// kernel: the padded copy its windows read for the whole output `out` (window_input) is not
// much larger than the input. Pads far wider than the input (a hostile model) keep ATen's
// pool, which does not copy them.
bool own_pool_kernel(const TensorInfo& x, const Window& w, const Shape& out);
}  // namespace fg::ops
