// Training a graph on labelled images with ATen autograd: cross-entropy, Adam or SGD with
// momentum, shuffling with a seed, per-epoch validation, a progress line.
//
// Scope today: models without BatchNormalization (the seed's Inception-module model and
// other plain graphs). Batch-norm train/eval modes, schedules and resumable checkpoints
// arrive with the model-zoo work.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "faultgraph/data/idx.h"
#include "faultgraph/ir/graph.h"

namespace fg {

struct TrainOptions {
  int epochs = 3;
  int64_t batch = 64;
  double learning_rate = 1e-3;
  std::string optimizer = "adam";  // or "sgd" (with momentum)
  double momentum = 0.9;
  uint64_t seed = 0;
  int64_t limit = 0;  // train on the first `limit` images only (0: all)
  bool progress = true;
};

struct EpochStats {
  int epoch = 0;
  double loss = 0, train_accuracy = 0, validation_accuracy = 0;
  double seconds = 0, images_per_second = 0;
};
using EpochCallback = std::function<void(const EpochStats&)>;

// Returns a copy of `model` with trained weights. The logits are the input of a final
// Softmax when the model ends in one (as the seed's model does), else its output.
// `on_epoch` (optional) sees each epoch's statistics as it ends.
Graph train(const Graph& model, const LabelledImages& train_set, const LabelledImages& validation,
            const TrainOptions& options, std::vector<EpochStats>* history = nullptr,
            const EpochCallback& on_epoch = {});

}  // namespace fg
