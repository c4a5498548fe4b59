// The op interface: what every op in src/ops/ provides (shape/dtype inference, a kernel
// built once per node and input signature, a FLOP count), and the op table.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "faultgraph/ir/graph.h"

namespace fg {

// What is known about a value before running the graph: element type, shape (dims may be
// kUnknownDim), and, for small values computable without inputs, the value itself.
struct TensorInfo {
  DType dtype = DType::kUndefined;
  Shape shape;
  bool rank_known = false;
  std::optional<at::Tensor> value;

  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  bool shape_known() const;
  int64_t numel() const;  // -1 when a dim is unknown
};

struct OpContext {
  const Node& node;
  std::span<const TensorInfo> in;  // one per node input; a default TensorInfo when omitted
  int64_t opset;
  // Training forward (ExecOptions::training): BatchNormalization normalises with the
  // batch's statistics and updates its running statistics in place.
  bool training = false;

  const Attrs& attrs() const { return node.attrs; }
  bool has_input(size_t i) const { return i < node.inputs.size() && node.inputs[i] != kNoValue; }
  // "node 'conv1' (Conv)": prefix for error messages.
  std::string where() const;
};

// The arguments of one kernel call. `in` holds the node's inputs (undefined tensors for
// omitted ones); a kernel may overwrite in[i] in place when may_overwrite(i): the executor
// sets that bit only when nothing reads the value afterwards.
struct KernelArgs {
  std::vector<at::Tensor>& in;
  std::vector<at::Tensor>& out;
  uint64_t overwritable = 0;
  // Dataset index of the batch's first sample: per-sample random faults are keyed by it, so
  // a sample gets the same fault whatever the batch size or its place in a batch.
  int64_t first_sample = 0;
  bool may_overwrite(size_t i) const { return i < 64 && ((overwritable >> i) & 1U) != 0; }
};
using Kernel = std::function<void(KernelArgs&)>;

// A box of a tensor: the elements with lo[d] <= index[d] < hi[d] in every dim d.
struct Box {
  std::vector<int64_t> lo, hi;
  static Box whole(at::IntArrayRef shape);
  int64_t volume() const;
  std::vector<int64_t> shape() const;  // hi - lo per dim
  void unite(const Box& other);        // the smallest box holding both
  // The part of a tensor of this box's rank.
  at::Tensor of(const at::Tensor& t) const;
};

// dst.copy_(src) for tensors in distinct memory. Views of one shape and type whose last dim
// is unit-strided (a box of a contiguous tensor), without gradients, are copied a row at a
// time with memcpy: ATen's copy of the 3- to 14-element rows of a window paid for each row
// (ResNet-50 campaign: its Add windows' copies 0.21 -> 0.18 s of 6.9 s).
void copy_into(const at::Tensor& dst, const at::Tensor& src);

// An input of a windowed computation: `base` (the golden value, or a full faulty one) whose
// elements inside `box`, when set, are replaced by `patch` (the box's shape). A faulty value
// that differs from the golden one in a small box is never copied whole.
struct WindowInput {
  at::Tensor base;
  std::optional<Box> box;
  at::Tensor patch;
  // The elements of `b`, the patch applied: a view of `base` when the patch does not
  // overlap `b`, a view of `patch` when `b` lies inside it, else a copy of just `b`.
  at::Tensor part(const Box& b) const;
  // Copies the elements of `b`, the patch applied, into `dst` (the box's shape).
  void copy_part(const Box& b, const at::Tensor& dst) const;
  // Where the patch overlaps `b`: that overlap relative to `b` and relative to the patch;
  // nullopt without a patch or an overlap.
  std::optional<std::pair<Box, Box>> overlap(const Box& b) const;
  bool defined() const { return base.defined(); }
  int64_t size(int64_t d) const { return base.size(d); }
};

// Whether `t` is the only handle to its tensor and that tensor the only one on its storage
// (no view of it, nor it a view of another), contiguous: a kernel given it may write its
// output there without anyone else seeing the change.
inline bool sole_owner(const at::Tensor& t) {
  return t.defined() && t.use_count() == 1 && t.storage().use_count() == 1 && t.is_contiguous();
}

// Windowed ("cone") recompute of one node (DESIGN.md, executor contract item 8): which part
// of the output a changed box of an input can reach, and a kernel for just that part.
struct Region {
  // The output box that a change inside `changed` of input `input` can reach; nullopt: the
  // whole output (a weight, a bias, or anything the op does not map).
  std::function<std::optional<Box>(size_t input, const Box& changed)> reach;
  // The output's values inside `out` from the inputs `in`: a tensor of the box's shape.
  std::function<at::Tensor(const std::vector<WindowInput>& in, const Box& out)> compute;
  // `compute` gives exactly the values of the full kernel (element-wise arithmetic, max);
  // false when its summation order may differ (a convolution over a smaller window: the
  // backend picks its blocking by shape). The executor then windows such a node only where
  // it was shown to give the whole kernel's bits: on every window (checked once per layer)
  // or on windows of the shape at hand (checked on first use of that shape).
  bool exact = true;
  // For an inexact region whose windows are computed by one kernel call on contiguous
  // operands whose shapes depend only on the window's: that call's shape for window `out`
  // (windows of one shape sum alike, so the executor checks each shape once). Unset: only
  // the once-per-layer check.
  std::function<std::vector<int64_t>(const Box& out)> computed_shape;
  // Several windows at once, window i from its own inputs in[i] (a batch of trials at one
  // node): the values compute(*in[i], out[i]) gives, bit for bit, in one kernel call that
  // reads the weights once for all (exact regions only). Unset: one window at a time.
  std::function<std::vector<at::Tensor>(const std::vector<const std::vector<WindowInput>*>& in,
                                        const std::vector<Box>& out)>
      compute_many;
};

struct OpDef {
  OpKind kind;
  std::string_view name;
  int min_inputs, max_inputs, min_outputs, max_outputs;
  // Output types from input types and attributes. Throws ShapeError / ModelFormatError
  // naming the node when they do not fit.
  std::vector<TensorInfo> (*infer)(const OpContext&);
  // Parses attributes once and returns the kernel for this node and input signature.
  Kernel (*prepare)(const OpContext&);
  // Floating-point operations of one call (multiply-add = 2); nullptr: one per output
  // element; ops that only move data report 0 through `moves_data`.
  int64_t (*flops)(const OpContext&, std::span<const TensorInfo> out);
  bool moves_data;
  // How changed regions of the inputs map to the output (windowed recompute); nullptr: a
  // change anywhere reaches the whole output.
  std::optional<Region> (*region)(const OpContext&) = nullptr;
};

const OpDef& op_def(OpKind op);

// Batched fault variants (DESIGN.md, executor contract item 4): when the node computes
// every sample on its own, the inputs indexed by sample along dim 0 (bit i: input i); the
// others (weights, biases, lower-rank broadcasts) are read whole by every sample. nullopt:
// samples are not independent along dim 0 (a Reshape, a MatMul, a Concat along dim 0, ops
// not listed), so the executor reruns such a node one variant at a time.
std::optional<uint64_t> per_sample_inputs(const OpContext& ctx);

}  // namespace fg
