// The one evaluation loop (trainer validation, `eval`, `inject`, campaigns): a model over a
// labelled set in batches, without autograd, with progress and Ctrl-C checks.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <vector>

#include "faultgraph/core/progress.h"
#include "faultgraph/eval/metrics.h"
#include "faultgraph/exec/executor.h"

namespace fg {

struct EvalOptions {
  int64_t batch = 256;
  int64_t limit = 0;  // the first `limit` samples only (0: all)
};

// Called with each batch's outputs and the dataset index of its first sample.
using BatchCallback = std::function<void(const std::vector<at::Tensor>& outputs, int64_t begin)>;

// Runs `exec` over `images` (N x ...) and scores output 0 against `labels` (N, int64).
// Each batch is keyed by its first sample's index (per-sample faults do not depend on the
// batch size). `progress`, when given, advances by each batch.
Evaluation evaluate(Executor& exec, const at::Tensor& images, const at::Tensor& labels,
                    int64_t classes, Evaluation::Scores scores, const EvalOptions& options,
                    Progress* progress = nullptr, const BatchCallback& on_batch = nullptr);

}  // namespace fg
