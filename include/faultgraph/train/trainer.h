// Training a graph on labelled images with ATen autograd: cross-entropy, Adam or SGD with
// momentum and weight decay, a learning-rate schedule, BatchNormalization in training mode
// (batch statistics, running statistics updated) and evaluation mode for validation,
// shuffling with a seed, per-epoch validation, resumable checkpoints, a progress line.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "faultgraph/data/dataset.h"
#include "faultgraph/ir/graph.h"

namespace fg {

struct TrainOptions {
  int epochs = 3;
  int64_t batch = 64;
  double learning_rate = 1e-3;
  std::string optimizer = "adam";  // or "sgd" (with momentum)
  double momentum = 0.9;
  double weight_decay = 0.0;
  // Learning-rate schedule: "constant"; "step" (times `gamma` every `step_epochs`
  // epochs); "cosine" (from learning_rate to 0 over all batches of all epochs).
  std::string schedule = "constant";
  int step_epochs = 1;
  double gamma = 0.1;
  uint64_t seed = 0;
  int64_t limit = 0;  // train on the first `limit` images only (0: all)
  bool progress = true;
  // When set, the state after every epoch is kept in this folder: checkpoint.onnx (the
  // model), checkpoint.optim (the optimiser's state), checkpoint.json (epoch, history,
  // options). With `resume`, training continues from the checkpoint found there.
  std::string checkpoint_dir;
  bool resume = false;
};

struct EpochStats {
  int epoch = 0;
  double learning_rate = 0;  // at the epoch's last batch
  double loss = 0, train_accuracy = 0;
  double validation_loss = 0, validation_accuracy = 0;
  double seconds = 0, images_per_second = 0;
};
using EpochCallback = std::function<void(const EpochStats&)>;

// The learning rate at `step` (0-based) of `total_steps`, `steps_per_epoch` to an epoch.
double scheduled_learning_rate(const TrainOptions& o, int64_t step, int64_t steps_per_epoch,
                               int64_t total_steps);

// Returns a copy of `model` with trained weights (and BatchNorm running statistics). The
// logits are the input of a final Softmax when the model ends in one (as the seed's model
// does), else its output. `on_epoch` (optional) sees each epoch's statistics as it ends;
// `history` receives them all (on resume, the checkpoint's earlier epochs first).
Graph train(const Graph& model, const LabelledImages& train_set, const LabelledImages& validation,
            const TrainOptions& options, std::vector<EpochStats>* history = nullptr,
            const EpochCallback& on_epoch = {});

}  // namespace fg
