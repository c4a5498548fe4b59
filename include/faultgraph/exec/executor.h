// The executor: runs a Graph with ATen kernels.
//
// Contract (DESIGN.md, "The executor contract"):
//  1. run() returns the outputs and frees every value after its last use; run_cached()
//     keeps every intermediate value (the golden cache).
//  2. rerun() recomputes only the nodes downstream of changed values, reading all others
//     from a golden cache, and stops along a path where a recomputed value is
//     bit-identical to the cached one (the change was masked there).
//  3./4. Windowed recompute and batched fault variants build on the same plan (a per-node
//     kernel list in topological order); batched variants are ordinary batched inputs.
//  5. Every mode gives the numbers of a plain full forward of the same graph.
//
// A plan (inferred types, kernels, value lifetimes) is built once per input signature
// (dtypes and shapes) and reused.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "faultgraph/ir/graph.h"

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

 private:
  friend class Executor;
  const Graph* graph_ = nullptr;
  std::vector<at::Tensor> values_;
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
  std::vector<at::Tensor> run(const std::vector<at::Tensor>& inputs);
  // Same, keeping every value.
  GoldenCache run_cached(const std::vector<at::Tensor>& inputs);
  // Recomputes the graph with `changed` values replaced, reading the rest from `cache`
  // (made by run_cached on the same inputs). Returns the outputs.
  std::vector<at::Tensor> rerun(const GoldenCache& cache,
                                const std::vector<std::pair<ValueId, at::Tensor>>& changed,
                                RerunStats* stats = nullptr);

  const Graph& graph() const { return graph_; }

 private:
  struct Plan;
  Plan& plan_for(const std::vector<at::Tensor>& inputs);
  void execute(Plan& plan, std::vector<at::Tensor>& values, bool keep_all);

  Graph graph_;
  ExecOptions options_;
  std::map<std::string, std::unique_ptr<Plan>> plans_;
};

// True when both tensors have the same dtype, shape and bytes (NaN payloads included).
bool bitwise_equal(const at::Tensor& a, const at::Tensor& b);

}  // namespace fg
