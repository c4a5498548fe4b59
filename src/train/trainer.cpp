// The only translation unit that includes libtorch's C++ API (its optimisers and their
// serialisation).
#include "faultgraph/train/trainer.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>
#include <torch/serialize.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "faultgraph/core/error.h"
#include "faultgraph/core/files.h"
#include "faultgraph/core/progress.h"
#include "faultgraph/eval/evaluate.h"
#include "faultgraph/eval/metrics.h"
#include "faultgraph/exec/executor.h"
#include "faultgraph/exec/runtime.h"
#include "faultgraph/io/onnx.h"

namespace fg {

// checkpoint.json's history entries.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(EpochStats, epoch, learning_rate, loss, train_accuracy,
                                   validation_loss, validation_accuracy, seconds, images_per_second)

namespace {

namespace fs = std::filesystem;

// Inputs 3 and 4 of BatchNormalization: statistics, not parameters.
std::set<ValueId> batch_norm_statistics(const Graph& g) {
  std::set<ValueId> out;
  for (const Node& n : g.nodes()) {
    if (n.op != OpKind::kBatchNormalization) continue;
    for (size_t i = 3; i < n.inputs.size(); ++i) out.insert(n.inputs[i]);
  }
  return out;
}

// A copy of the graph whose float initializers are fresh tensors (the caller's model is
// never touched): parameters require gradients, BatchNorm statistics are plain tensors
// the training forward updates. Parameters are listed by name, so the optimiser's state
// has the same order in every run of the same architecture.
Graph trainable_copy(const Graph& model, std::vector<at::Tensor>& params) {
  Graph g = model;
  for (const Node& n : g.nodes()) {
    FG_CHECK(n.op != OpKind::kFault, UsageError, "node '", n.name,
             "': remove faults before training");
  }
  std::map<std::string, at::Tensor> by_name;
  const std::set<ValueId> statistics = batch_norm_statistics(model);
  for (const Value& v : model.values()) {
    if (!v.is_initializer() || !is_floating(v.dtype)) continue;
    at::Tensor t = v.data->detach().clone();
    if (statistics.count(v.id) == 0) {
      t.set_requires_grad(true);
      by_name[v.name] = t;
    }
    g.value(v.id).data = t;
  }
  for (auto& [name, t] : by_name) params.push_back(t);
  FG_CHECK(!params.empty(), UsageError, "the model has no trainable parameters");
  return g;
}

// The graph with its logits as output 0 (the input of a final Softmax).
Graph logits_graph(Graph g) {
  ValueId out = g.outputs().at(0);
  NodeId producer = g.value(out).producer;
  if (producer != kNoNode && g.node(producer).op == OpKind::kSoftmax) {
    g.set_output(0, g.node(producer).inputs[0]);
  }
  return g;
}

// A copy of the original graph holding the trained tensors (detached), Softmax kept.
Graph trained_model(const Graph& model, const Graph& trained) {
  Graph out = model;
  for (const Value& v : model.values()) {
    if (v.is_initializer() && is_floating(v.dtype))
      out.value(v.id).data = trained.value(v.id).data->detach().clone();
  }
  return out;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainOptions& o,
                                                        const std::vector<at::Tensor>& params) {
  if (o.optimizer == "adam") {
    return std::make_unique<torch::optim::Adam>(
        params, torch::optim::AdamOptions(o.learning_rate).weight_decay(o.weight_decay));
  }
  if (o.optimizer == "sgd") {
    return std::make_unique<torch::optim::SGD>(params, torch::optim::SGDOptions(o.learning_rate)
                                                           .momentum(o.momentum)
                                                           .weight_decay(o.weight_decay));
  }
  FG_FAIL(UsageError, "optimizer '", o.optimizer, "' is not one of adam, sgd");
}

struct Checkpoint {
  fs::path dir;
  fs::path model() const { return dir / "checkpoint.onnx"; }
  fs::path optim() const { return dir / "checkpoint.optim"; }
  fs::path state() const { return dir / "checkpoint.json"; }
};

// Each file is written whole (temporary file + rename); checkpoint.json comes last and
// records the sizes of the other two, so resume refuses a checkpoint whose save was cut
// short between files.
void save_checkpoint(const Checkpoint& c, const Graph& model, const Graph& g,
                     torch::optim::Optimizer& opt, const TrainOptions& o, int epoch,
                     const std::vector<EpochStats>& history) {
  fs::create_directories(c.dir);
  std::string onnx_bytes = export_onnx_bytes(trained_model(model, g));
  write_file_atomic(c.model().string(), onnx_bytes);
  std::ostringstream optim_bytes;
  torch::save(opt, optim_bytes);
  write_file_atomic(c.optim().string(), optim_bytes.str());
  nlohmann::json j;
  j["epoch"] = epoch;
  j["model_bytes"] = onnx_bytes.size();
  j["optim_bytes"] = optim_bytes.str().size();
  j["options"] = {{"epochs", o.epochs},
                  {"batch", o.batch},
                  {"learning_rate", o.learning_rate},
                  {"optimizer", o.optimizer},
                  {"momentum", o.momentum},
                  {"weight_decay", o.weight_decay},
                  {"schedule", o.schedule},
                  {"step_epochs", o.step_epochs},
                  {"gamma", o.gamma},
                  {"seed", o.seed},
                  {"limit", o.limit}};
  j["history"] = history;
  write_file_atomic(c.state().string(), j.dump(2) + "\n");
}

// Loads the checkpoint into `g` (weights, statistics) and `opt`; returns its epoch and
// fills `history`. 0 when there is no checkpoint.
int load_checkpoint(const Checkpoint& c, Graph& g, torch::optim::Optimizer& opt,
                    const TrainOptions& o, std::vector<EpochStats>& history) {
  if (!fs::exists(c.state())) return 0;
  nlohmann::json j;
  try {
    std::ifstream in(c.state());
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    FG_FAIL(DatasetError, c.state().string(), ": not a faultgraph checkpoint (", e.what(),
            "); delete the folder to start afresh");
  }
  for (const fs::path& p : {c.model(), c.optim()}) {
    FG_CHECK(fs::exists(p), DatasetError, p.string(),
             ": missing; the checkpoint is incomplete (delete the folder to start afresh)");
  }
  FG_CHECK(fs::file_size(c.model()) == j.value("model_bytes", uint64_t{0}) &&
               fs::file_size(c.optim()) == j.value("optim_bytes", uint64_t{0}),
           DatasetError, c.dir.string(),
           ": checkpoint files do not match checkpoint.json (interrupted while saving?); delete "
           "the folder to start afresh");
  const auto& saved = j.at("options");
  FG_CHECK(saved.at("optimizer") == o.optimizer && saved.at("batch") == o.batch &&
               saved.at("seed") == o.seed,
           UsageError, c.state().string(), ": the checkpoint was made with optimizer ",
           saved.at("optimizer").dump(), ", batch ", saved.at("batch").dump(), ", seed ",
           saved.at("seed").dump(), "; resume with the same settings");
  Graph saved_model = import_onnx(c.model().string());
  std::map<std::string, at::Tensor> tensors;
  for (const Value& v : saved_model.values())
    if (v.is_initializer()) tensors[v.name] = *v.data;
  at::NoGradGuard no_grad;
  for (const Value& v : g.values()) {
    if (!v.is_initializer() || !is_floating(v.dtype)) continue;
    auto it = tensors.find(v.name);
    FG_CHECK(it != tensors.end() && it->second.sizes() == v.data->sizes(), UsageError,
             c.model().string(), ": has no tensor '", v.name, "' of shape ", v.data->sizes(),
             "; the checkpoint is of another model");
    v.data->copy_(it->second);
  }
  std::istringstream optim_bytes([&] {
    std::ifstream in(c.optim(), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }());
  torch::load(opt, optim_bytes);
  for (const auto& s : j.at("history")) history.push_back(s.get<EpochStats>());
  return j.at("epoch").get<int>();
}

}  // namespace

double scheduled_learning_rate(const TrainOptions& o, int64_t step, int64_t steps_per_epoch,
                               int64_t total_steps) {
  if (o.schedule == "constant") return o.learning_rate;
  if (o.schedule == "step") {
    int64_t epoch = step / std::max<int64_t>(1, steps_per_epoch);
    return o.learning_rate * std::pow(o.gamma, static_cast<double>(epoch / o.step_epochs));
  }
  if (o.schedule == "cosine") {
    double t = static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, total_steps));
    return 0.5 * o.learning_rate * (1.0 + std::cos(M_PI * t));
  }
  FG_FAIL(UsageError, "learning-rate schedule '", o.schedule,
          "' is not one of constant, step, cosine");
}

Graph train(const Graph& model, const LabelledImages& train_set, const LabelledImages& validation,
            const TrainOptions& o, std::vector<EpochStats>* history,
            const EpochCallback& on_epoch) {
  FG_CHECK(o.epochs > 0 && o.batch > 0 && o.learning_rate > 0, UsageError,
           "epochs, batch size and learning rate must be positive");
  FG_CHECK(o.step_epochs > 0, UsageError, "the step schedule's step must be positive");
  scheduled_learning_rate(o, 0, 1, 1);  // rejects an unknown schedule before any work
  FG_CHECK(!o.resume || !o.checkpoint_dir.empty(), UsageError,
           "resuming needs a checkpoint folder");
  // Training is not bit-reproducible across thread counts anyway: let OpenBLAS use the
  // compute threads (its Gemms run the dense layers' forward and backward), and give the
  // one thread back afterwards (runtime.h: fault runs need it).
  struct BlasThreads {
    int before = blas_threads();
    BlasThreads() { set_blas_threads(at::get_num_threads()); }
    ~BlasThreads() {
      if (before > 0) set_blas_threads(before);
    }
  } blas_threads_while_training;
  std::vector<at::Tensor> params;
  Graph g = logits_graph(trainable_copy(model, params));
  // One executor for training forwards (BatchNorm on batch statistics), one for
  // validation (running statistics); both read the same tensors.
  Executor train_exec(g, ExecOptions{/*in_place=*/false, /*training=*/true});
  Executor eval_exec(g, ExecOptions{/*in_place=*/true, /*training=*/false});
  auto opt = make_optimizer(o, params);

  int64_t n = o.limit > 0 ? std::min(o.limit, train_set.size()) : train_set.size();
  FG_CHECK(n > 0, UsageError, "the training set is empty");
  FG_CHECK(train_set.classes > 0, UsageError, "the training set has no classes");
  std::vector<EpochStats> past;
  Checkpoint ckpt{o.checkpoint_dir};
  int first_epoch = 1;
  if (o.resume) first_epoch = load_checkpoint(ckpt, g, *opt, o, past) + 1;
  if (history) *history = past;

  int64_t batches = (n + o.batch - 1) / o.batch;
  int64_t total_steps = batches * o.epochs;
  for (int epoch = first_epoch; epoch <= o.epochs; ++epoch) {
    auto start = std::chrono::steady_clock::now();
    auto gen =
        at::make_generator<at::CPUGeneratorImpl>(o.seed * 1000003 + static_cast<uint64_t>(epoch));
    at::Tensor order = at::randperm(n, gen, at::kLong);
    Progress progress(fmt::format("epoch {}/{}", epoch, o.epochs), n, "img", false);
    if (!o.progress) progress.finish();
    double loss_sum = 0, lr = o.learning_rate;
    int64_t correct = 0, seen = 0;
    for (int64_t b = 0; b < batches; ++b) {
      int64_t begin = b * o.batch;
      lr = scheduled_learning_rate(o, (epoch - 1) * batches + b, batches, total_steps);
      for (auto& group : opt->param_groups()) group.options().set_lr(lr);
      at::Tensor idx = order.slice(0, begin, std::min(n, begin + o.batch));
      at::Tensor x = train_set.images.index_select(0, idx);
      at::Tensor y = train_set.labels.index_select(0, idx);
      opt->zero_grad();
      at::Tensor logits = train_exec.run({x}).at(0);
      at::Tensor loss = at::cross_entropy_loss(logits, y);
      loss.backward();
      opt->step();
      double batch_loss = loss.item<double>();
      FG_CHECK(std::isfinite(batch_loss), UsageError, "training diverged at epoch ", epoch,
               ", batch ", b + 1, " (loss ", batch_loss, "); try a smaller learning rate");
      loss_sum += batch_loss * static_cast<double>(idx.size(0));
      correct += logits.argmax(1).eq(y).sum().item<int64_t>();
      seen += idx.size(0);
      progress.set_label(
          fmt::format("epoch {}/{} batch {}/{} loss {:.4f} acc {:.2f}%", epoch, o.epochs, b + 1,
                      batches, loss_sum / static_cast<double>(seen),
                      100.0 * static_cast<double>(correct) / static_cast<double>(seen)));
      progress.advance(idx.size(0));
    }
    progress.finish();
    EpochStats s;
    s.epoch = epoch;
    s.learning_rate = lr;
    s.loss = loss_sum / static_cast<double>(seen);
    s.train_accuracy = static_cast<double>(correct) / static_cast<double>(seen);
    s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    s.images_per_second = static_cast<double>(seen) / s.seconds;
    if (validation.size() > 0) {
      EvalOptions eval_options;
      eval_options.batch = 256;
      Evaluation e = evaluate(eval_exec, validation.images, validation.labels, validation.classes,
                              Evaluation::Scores::kLogits, eval_options);
      s.validation_accuracy = e.top1();
      s.validation_loss = e.loss();
    }
    past.push_back(s);
    if (history) history->push_back(s);
    if (!o.checkpoint_dir.empty()) save_checkpoint(ckpt, model, g, *opt, o, epoch, past);
    if (on_epoch) on_epoch(s);
  }
  return trained_model(model, g);
}

}  // namespace fg
