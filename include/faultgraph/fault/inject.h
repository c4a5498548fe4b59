// The seed's workflow: evaluate the fault-free model once, then each configured fault on the
// same data, and compare. Each batch's golden run is kept (the golden cache, at most about
// 512 MiB of it: the batch is cut down for large models); each entry's fault is applied to
// it by the executor and only what lies downstream is recomputed, with the numbers of a
// full forward of the entry's faulty model (insert_faults, kept for its picture).
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <vector>

#include "faultgraph/eval/metrics.h"
#include "faultgraph/fault/config.h"
#include "faultgraph/ir/graph.h"

namespace fg {

struct CorruptedValue {
  int64_t index;  // flat index into the value the fault node corrupted (first batch)
  float before, after;
};

struct EntryResult {
  FaultConfigEntry entry;
  bool ran = false;
  std::string error;  // the entry's config error, or why it failed to run
  Evaluation faulty{0};
  int64_t corrupted = 0;            // elements changed by the fault nodes, over the whole run
  int64_t observed = 0;             // elements that passed through the fault nodes
  int64_t changed_predictions = 0;  // samples whose top-1 class differs from the golden run
  std::vector<CorruptedValue> examples;
  std::string fault_node;
  Graph faulty_graph;
  double seconds = 0;  // its reruns (the golden runs are shared by all entries)
};

struct InjectResult {
  Evaluation golden{0};
  std::vector<EntryResult> entries;
  double golden_seconds = 0;
};

struct InjectOptions {
  int64_t batch = 128;
  int64_t limit = 0;  // evaluate on the first `limit` samples only (0: all)
  bool progress = true;
};

// `images` N x ... float32, `labels` N int64 with classes in [0, classes).
InjectResult run_inject(const Graph& model, const FaultConfig& config, const at::Tensor& images,
                        const at::Tensor& labels, int64_t classes, const InjectOptions& options);

}  // namespace fg
