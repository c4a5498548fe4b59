// The executor: runs a Graph with ATen kernels.
//
// Contract (DESIGN.md, "The executor contract"):
//  1. run() returns the outputs and frees every value after its last use; run_cached()
//     keeps every intermediate value (the golden cache).
//  2. rerun() recomputes only the nodes downstream of changed values, reading all others
//     from a golden cache, and stops along a path where a recomputed value is
//     bit-identical to the cached one (the change was masked there).
//  3. rerun(cache, fault, Recompute::kCone) recomputes only the box of each downstream
//     value that the fault can reach (ops declare it in OpDef::region).
//  4. rerun_batch() reruns several faults on one golden run in step, node by node: where
//     a node computes each sample on its own, the variants that reach it whole run as one
//     batch (one fault per batch slot); variants that mask drop out.
//  5. Every mode gives the numbers of a plain full forward of the same graph.
//
// A plan (inferred types, kernels, value lifetimes, FLOPs) is built once per input signature
// (dtypes and shapes) and then never changes: a GoldenCache points at its plan, and
// rerun() is const, so threads can run trials on one executor and its caches at once.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "faultgraph/fault/fault_model.h"
#include "faultgraph/ir/graph.h"
#include "faultgraph/ops/op.h"

namespace fg {

class GoldenCache {
 public:
  // The value with this id.
  const at::Tensor& value(ValueId id) const { return values_.at(static_cast<size_t>(id)); }
  // The first output of the node with this name, or else the value with this name.
  // UsageError, with the closest names, when neither exists.
  const at::Tensor& at(const std::string& name) const;
  std::vector<at::Tensor> outputs() const;
  const std::vector<at::Tensor>& values() const { return values_; }
  // FLOPs of one full forward pass at this cache's input shapes.
  double forward_flops() const;

 private:
  friend class Executor;
  const Graph* graph_ = nullptr;
  const void* plan_ = nullptr;  // the Executor's plan for these inputs (owned by it)
  int64_t first_sample_ = 0;
  std::vector<at::Tensor> values_;
};

// One fault applied by the executor to a golden run (a campaign trial, an inject entry): no
// new graph is built. With `elements` (flat indices into the whole value, all samples),
// `spec` says how they are corrupted (kind, bits, value, number format) and its selection is
// ignored; without, `spec` selects the elements itself, per sample when `batched` (dim 0
// indexes samples; keyed by their dataset index: `first_sample` + the place in the batch),
// else over the whole tensor (a weight), as a Fault node would.
struct ValueFault {
  ValueId value = kNoValue;  // the value corrupted: a node output, a weight, a model input
  // An input edge: only input `input_index` of node `consumer` sees the corrupted value
  // (one branch entering an Add or Concat); kNoNode: every consumer sees it.
  NodeId consumer = kNoNode;
  int input_index = -1;
  std::vector<int64_t> elements;
  FaultSpec spec;
  bool batched = false;
  int64_t first_sample = 0;
  // Whether RerunResult::faulty_value is wanted: a copy of the whole value (a campaign,
  // which records only the listed elements' values, does without it).
  bool keep_faulty_value = true;
};

// How much a faulty rerun recomputes (all give the numbers of a full forward of the faulty
// model; `kCone` up to floating-point reassociation inside convolution windows).
enum class Recompute {
  kFull,        // every node
  kDownstream,  // every node downstream of the fault, stopping where a value is unchanged
  kCone,        // of those nodes, only the box of each output that the fault can reach
};

// What a faulty rerun gives (DESIGN.md, executor contract item 9).
struct RerunResult {
  std::vector<at::Tensor> outputs;
  bool masked = false;                // every output bit-identical to the golden one
  NodeId first_non_finite = kNoNode;  // set when an output ended non-finite: the first node
                                      // (topological order) whose recomputed
                                      // output holds a NaN/Inf the golden one did not
  bool fault_non_finite = false;      // the corrupted value itself became NaN/Inf
  std::vector<double> golden_values, faulty_values;  // of the listed elements
  at::Tensor faulty_value;  // the corrupted copy of the value, as the consumers saw it
                            // (when ValueFault::keep_faulty_value)
  int nodes_recomputed = 0;
  int nodes_masked = 0;
  int nodes_batched = 0;  // recomputed in one batch with other variants (rerun_batch)
  double flops = 0;       // FLOPs of the recomputed nodes
};

struct RerunStats {
  int nodes_recomputed = 0;
  int nodes_masked = 0;  // recomputed nodes whose outputs came out bit-identical
};

struct ExecOptions {
  // Let element-wise kernels overwrite inputs that die at them. Off for training: autograd
  // may need those values for the backward pass.
  bool in_place = true;
  // Training forward: BatchNormalization uses batch statistics and updates the running
  // mean and variance (the graph's initializer tensors) in place, with ONNX's momentum.
  bool training = false;
  // Recompute::kCone: a node is windowed only where that saves at least this much work
  // over computing it whole (FLOPs, and 32 per output element for the memory a whole node
  // passes over); smaller savings cost more in slicing, padding and allocation than they
  // save (measured, ResNet-20 and MobileNetV2 campaigns). 0: every node that can.
  double min_window_saving = 1e6;
};

class Executor {
 public:
  // The executor keeps its own copy of the graph (weights are shared, not copied).
  // Throws ModelFormatError if the graph does not verify.
  explicit Executor(Graph graph, ExecOptions options = {});
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // One tensor per runtime input (Graph::runtime_inputs order); returns the outputs.
  // `first_sample`: the dataset index of the batch's first sample (keys per-sample faults).
  std::vector<at::Tensor> run(const std::vector<at::Tensor>& inputs, int64_t first_sample = 0);
  // Same, keeping every value.
  GoldenCache run_cached(const std::vector<at::Tensor>& inputs, int64_t first_sample = 0);
  // Recomputes the graph with `changed` values replaced, reading the rest from `cache`
  // (made by run_cached on the same inputs). Returns the outputs.
  // Values computed from constants only (folded once into the plan) are recomputed when a
  // changed value feeds them.
  std::vector<at::Tensor> rerun(const GoldenCache& cache,
                                const std::vector<std::pair<ValueId, at::Tensor>>& changed,
                                RerunStats* stats = nullptr) const;
  // Applies `fault` to the golden values in `cache` and recomputes what lies downstream,
  // stopping along paths where the faulty values became bit-identical to the golden ones.
  // `mode`: how much to recompute (Recompute). In kCone, each value carries the box of its
  // elements that differ from the golden ones; a node whose op declares a Region computes
  // only the box of its output that box can reach, into a copy of the golden output.
  RerunResult rerun(const GoldenCache& cache, const ValueFault& fault,
                    Recompute mode = Recompute::kCone) const;

  // Batched fault variants: the same results, bit for bit, as rerun() of each fault on
  // `cache`'s inputs, computed in step: at each node whose op computes samples
  // independently (per_sample_inputs), the faults whose change reaches it whole (not as a
  // small window) run as one batch, after one more variant made of the golden inputs; a
  // node where that variant does not reproduce the golden bits (its kernel sums in another
  // order at that batch size) runs one fault at a time from then on. Faults that masked
  // drop out. kFull: one fault at a time.
  std::vector<RerunResult> rerun_batch(const GoldenCache& cache, std::span<const ValueFault> faults,
                                       Recompute mode = Recompute::kCone) const;

  const Graph& graph() const { return graph_; }

 private:
  friend class GoldenCache;
  struct Plan;
  struct Override;
  Plan& plan_for(const std::vector<at::Tensor>& inputs);
  void execute(const Plan& plan, std::vector<at::Tensor>& values, bool keep_all,
               int64_t first_sample) const;
  RerunResult propagate(const GoldenCache& cache, std::vector<at::Tensor>& values,
                        std::vector<bool>& dirty, const Override* edge, bool full,
                        bool track_non_finite) const;
  // Whether `region`'s windows of many shapes give the bits of `node`'s golden output.
  bool windows_match(NodeId node, const Region& region,
                     const std::vector<at::Tensor>& values) const;
  struct Slot;
  struct FaultStart;
  FaultStart apply(const GoldenCache& cache, const ValueFault& fault) const;
  std::unique_ptr<Slot> start(const GoldenCache& cache, const ValueFault& fault, Recompute mode,
                              bool track_non_finite, FaultStart& f) const;
  RerunResult run_slot(const GoldenCache& cache, const ValueFault& fault, Recompute mode,
                       bool track_non_finite, FaultStart& f) const;
  void describe(const GoldenCache& cache, const ValueFault& fault, FaultStart& f,
                RerunResult& r) const;
  bool outputs_turned_non_finite(const GoldenCache& cache, const RerunResult& r) const;

  Graph graph_;
  ExecOptions options_;
  std::map<std::string, std::unique_ptr<Plan>> plans_;
};

// True when both tensors have the same dtype, shape and bytes (NaN payloads included).
bool bitwise_equal(const at::Tensor& a, const at::Tensor& b);

}  // namespace fg
