// The only translation unit that includes libtorch's C++ API (for its optimisers).
#include "faultgraph/train/trainer.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>

#include <chrono>

#include "faultgraph/core/error.h"
#include "faultgraph/core/progress.h"
#include "faultgraph/eval/metrics.h"
#include "faultgraph/exec/executor.h"

namespace fg {

namespace {

// The graph with trainable parameters (float initializers read by nodes) replaced by leaf
// tensors that require gradients; the logits exposed as output 0.
Graph trainable_copy(const Graph& model, std::vector<at::Tensor>& params) {
  Graph g = model;
  for (const Node& n : g.nodes()) {
    FG_CHECK(n.op != OpKind::kBatchNormalization, UsageError, "node '", n.name,
             "': training models with BatchNormalization is not supported yet");
    FG_CHECK(n.op != OpKind::kFault, UsageError, "node '", n.name,
             "': remove faults before training");
  }
  for (const Value& v : model.values()) {
    if (!v.is_initializer() || !is_floating(v.dtype)) continue;
    at::Tensor p = v.data->detach().clone().set_requires_grad(true);
    g.value(v.id).data = p;
    params.push_back(p);
  }
  FG_CHECK(!params.empty(), UsageError, "the model has no trainable parameters");
  ValueId out = g.outputs().at(0);
  NodeId producer = g.value(out).producer;
  if (producer != kNoNode && g.node(producer).op == OpKind::kSoftmax) {
    g.set_output(0, g.node(producer).inputs[0]);
  }
  return g;
}

double evaluate(Executor& exec, const LabelledImages& data, int64_t batch) {
  at::NoGradGuard no_grad;
  Evaluation e(data.classes);
  for (int64_t begin = 0; begin < data.images.size(0); begin += batch) {
    int64_t end = std::min(data.images.size(0), begin + batch);
    e.add(exec.run({data.images.slice(0, begin, end)}).at(0), data.labels.slice(0, begin, end));
  }
  return e.top1();
}

}  // namespace

Graph train(const Graph& model, const LabelledImages& train_set, const LabelledImages& validation,
            const TrainOptions& o, std::vector<EpochStats>* history,
            const EpochCallback& on_epoch) {
  FG_CHECK(o.epochs > 0 && o.batch > 0 && o.learning_rate > 0, UsageError,
           "epochs, batch size and learning rate must be positive");
  std::vector<at::Tensor> params;
  Graph g = trainable_copy(model, params);
  Executor exec(g, ExecOptions{/*in_place=*/false});

  std::unique_ptr<torch::optim::Optimizer> opt;
  if (o.optimizer == "adam") {
    opt = std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(o.learning_rate));
  } else if (o.optimizer == "sgd") {
    opt = std::make_unique<torch::optim::SGD>(
        params, torch::optim::SGDOptions(o.learning_rate).momentum(o.momentum));
  } else {
    FG_FAIL(UsageError, "optimizer '", o.optimizer, "' is not one of adam, sgd");
  }

  int64_t n = o.limit > 0 ? std::min(o.limit, train_set.images.size(0)) : train_set.images.size(0);
  FG_CHECK(n > 0, UsageError, "the training set is empty");
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    auto start = std::chrono::steady_clock::now();
    auto gen =
        at::make_generator<at::CPUGeneratorImpl>(o.seed * 1000003 + static_cast<uint64_t>(epoch));
    at::Tensor order = at::randperm(n, gen, at::kLong);
    Progress progress(fmt::format("epoch {}/{}", epoch, o.epochs), n, "img", false);
    if (!o.progress) progress.finish();
    double loss_sum = 0;
    int64_t correct = 0, seen = 0;
    for (int64_t begin = 0; begin < n; begin += o.batch) {
      at::Tensor idx = order.slice(0, begin, std::min(n, begin + o.batch));
      at::Tensor x = train_set.images.index_select(0, idx);
      at::Tensor y = train_set.labels.index_select(0, idx);
      opt->zero_grad();
      at::Tensor logits = exec.run({x}).at(0);
      at::Tensor loss = at::cross_entropy_loss(logits, y);
      loss.backward();
      opt->step();
      loss_sum += loss.item<double>() * static_cast<double>(idx.size(0));
      correct += logits.argmax(1).eq(y).sum().item<int64_t>();
      seen += idx.size(0);
      progress.set_label(
          fmt::format("epoch {}/{} loss {:.4f} acc {:.2f}%", epoch, o.epochs,
                      loss_sum / static_cast<double>(seen),
                      100.0 * static_cast<double>(correct) / static_cast<double>(seen)));
      progress.advance(idx.size(0));
    }
    progress.finish();
    EpochStats s;
    s.epoch = epoch;
    s.loss = loss_sum / static_cast<double>(seen);
    s.train_accuracy = static_cast<double>(correct) / static_cast<double>(seen);
    s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    s.images_per_second = static_cast<double>(seen) / s.seconds;
    s.validation_accuracy = validation.images.defined() && validation.images.size(0) > 0
                                ? evaluate(exec, validation, 256)
                                : 0.0;
    if (history) history->push_back(s);
    if (on_epoch) on_epoch(s);
  }
  // The trained weights, detached, in a copy of the original graph (Softmax kept).
  Graph out = model;
  for (const Value& v : model.values()) {
    if (v.is_initializer() && is_floating(v.dtype))
      out.value(v.id).data = g.value(v.id).data->detach().clone();
  }
  return out;
}

}  // namespace fg
