// faultgraph train --model NAME --dataset D --epochs E --out model.onnx
#include <fmt/format.h>

#include <cstdio>

#include "commands.h"
#include "faultgraph/core/error.h"
#include "faultgraph/data/idx.h"
#include "faultgraph/io/onnx.h"
#include "faultgraph/models/seed_inception.h"
#include "faultgraph/train/trainer.h"

namespace fg::cli {

Graph seed_model_for(const LabelledImages& data, uint64_t seed) {
  SeedInceptionOptions mo;
  mo.channels = data.images.size(1);
  mo.height = data.images.size(2);
  mo.width = data.images.size(3);
  mo.classes = data.classes;
  mo.seed = seed;
  return seed_inception_model(mo);
}

namespace {
struct TrainArgs {
  std::string model = "seed_inception";
  std::string dataset = kFashionMnistDir;
  std::string out = "model.onnx";
  TrainOptions options;
};

int run_train(const TrainArgs& a) {
  FG_CHECK(a.model == "seed_inception", UsageError, "unknown model '", a.model,
           "' (built-in: seed_inception)");
  LabelledImages train_set = load_idx_dataset(a.dataset, "train");
  LabelledImages test_set = load_idx_dataset(a.dataset, "test");
  auto report = [](const EpochStats& s) {
    fmt::print(
        "epoch {}: loss {:.4f}  train accuracy {:.2f}%  test accuracy {:.2f}%  {:.0f} img/s  "
        "{:.0f} s\n",
        s.epoch, s.loss, 100 * s.train_accuracy, 100 * s.validation_accuracy, s.images_per_second,
        s.seconds);
    std::fflush(stdout);
  };
  Graph trained = train(seed_model_for(train_set, a.options.seed), train_set, test_set, a.options,
                        nullptr, report);
  export_onnx(trained, a.out);
  fmt::print("wrote {}\n", a.out);
  return 0;
}
}  // namespace

Command add_train(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "Train a built-in model and save it as ONNX");
  cmd->add_option("-m,--model", args->model, "built-in architecture")->capture_default_str();
  cmd->add_option("-d,--dataset", args->dataset, "MNIST-style IDX folder")->capture_default_str();
  cmd->add_option("-e,--epochs", args->options.epochs, "epochs")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("-b,--batch", args->options.batch, "batch size")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--lr", args->options.learning_rate, "learning rate")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--optimizer", args->options.optimizer, "adam or sgd")
      ->check(CLI::IsMember({"adam", "sgd"}))
      ->capture_default_str();
  cmd->add_option("--seed", args->options.seed, "initialisation and shuffling seed")
      ->capture_default_str();
  cmd->add_option("--limit", args->options.limit, "train on the first N images only")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("-o,--out", args->out, "where to save the trained model (ONNX)")
      ->capture_default_str();
  return {cmd, [args] { return run_train(*args); }};
}

}  // namespace fg::cli
