// faultgraph train --model NAME --dataset D --epochs E --out model.onnx
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "faultgraph/core/error.h"
#include "faultgraph/core/files.h"
#include "faultgraph/io/onnx.h"
#include "faultgraph/models/zoo.h"
#include "faultgraph/report/charts.h"
#include "faultgraph/train/trainer.h"

namespace fg::cli {

std::string curves_stem(const std::string& model_path) {
  std::filesystem::path p(model_path);
  return (p.parent_path() / p.stem()).string();
}

void write_training_curves(const std::vector<EpochStats>& history, const std::string& stem) {
  try {
    write_training_curves_or_throw(history, stem);
  } catch (const Error& e) {
    // Pictures are not worth the training: say so once per epoch and go on.
    fmt::print(stderr, "faultgraph: warning: {}; training goes on\n", e.what());
  }
}

void write_training_curves_or_throw(const std::vector<EpochStats>& history,
                                    const std::string& stem) {
  std::string csv =
      "epoch,learning_rate,train_loss,train_accuracy,test_loss,test_accuracy,seconds,"
      "images_per_second\n";
  LineSeries train_acc{"train", {}, {}, {0x1f, 0x5f, 0xbf}, false},
      test_acc{"test", {}, {}, {0xc0, 0x39, 0x2b}, true};
  LineSeries train_loss = train_acc, test_loss = test_acc;
  for (const EpochStats& s : history) {
    csv += fmt::format("{},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.3f},{:.1f}\n", s.epoch,
                       s.learning_rate, s.loss, s.train_accuracy, s.validation_loss,
                       s.validation_accuracy, s.seconds, s.images_per_second);
    double e = s.epoch;
    train_acc.x.push_back(e);
    train_acc.y.push_back(s.train_accuracy);
    test_acc.x.push_back(e);
    test_acc.y.push_back(s.validation_accuracy);
    train_loss.x.push_back(e);
    train_loss.y.push_back(s.loss);
    test_loss.x.push_back(e);
    test_loss.y.push_back(s.validation_loss);
  }
  write_file_atomic(stem + ".history.csv", csv);
  LineChart chart;
  chart.panels = {
      {"Accuracy per epoch", "epoch", "accuracy", {train_acc, test_acc}, true},
      {"Loss per epoch", "epoch", "cross-entropy loss", {train_loss, test_loss}, false}};
  write_chart(chart, stem + ".curves.png");
  write_chart(chart, stem + ".curves.svg");
}

Graph model_for(const std::string& name, const LabelledImages& data, double width, uint64_t seed) {
  ModelOptions mo;
  mo.channels = data.images.size(1);
  mo.height = data.images.size(2);
  mo.width = data.images.size(3);
  mo.classes = data.classes;
  mo.width_multiplier = width;
  mo.seed = seed;
  return build_model(name, mo);
}

void add_dataset_options(CLI::App* cmd, DatasetArgs& a, bool with_split) {
  cmd->add_option("-d,--dataset", a.spec,
                  "dataset: a folder (format detected) or FORMAT:PATH, FORMAT one of idx, "
                  "cifar10, gtsrb, folder; or fashion-mnist")
      ->capture_default_str();
  if (with_split) {
    cmd->add_option("--split", a.split, "train or test")
        ->check(CLI::IsMember({"train", "test"}))
        ->capture_default_str();
  }
  cmd->add_option("--image-size", a.options.image_size,
                  "side that gtsrb and folder images are resized to")
      ->check(kPositive)
      ->capture_default_str();
  cmd->add_option("--channels", a.options.channels, "folder images: 1 (grey) or 3 (RGB)")
      ->check(CLI::IsMember({1, 3}))
      ->capture_default_str();
  cmd->add_option("--split-seed", a.options.split_seed,
                  "seed of the 70/30 train/test split (gtsrb, folder without train/ and test/)")
      ->check(kSeed)
      ->capture_default_str();
}

DatasetSplits load_dataset(const DatasetArgs& a) { return fg::load_dataset(a.spec, a.options); }

const LabelledImages& chosen_split(const DatasetSplits& s, const DatasetArgs& a) {
  return a.split == "train" ? s.train : s.test;
}

void check_images_fit(const Graph& model, const std::string& model_name,
                      const LabelledImages& data) {
  if (!data.images.defined() || data.images.dim() < 1) return;
  std::optional<SampleMismatch> m = sample_mismatch(model, data.images.sizes().slice(1));
  if (!m) return;
  FG_FAIL(DatasetError, data.source, ": its images are ", m->is, ", but ", model_name, "'s ",
          m->takes,
          m->channels > 0 && m->size > 0
              ? fmt::format(" (--image-size {} --channels {} resize gtsrb and folder datasets)",
                            m->size, m->channels)
              : "");
}

// The trained model to `out`; when that fails after training (the folder removed, the
// disk full), to a file in the temporary folder, named in the error, so that hours of
// training are not lost.
void save_trained(const Graph& trained, const std::string& out, const std::string& model) {
  try {
    export_onnx(trained, out);
  } catch (const Error& e) {
    std::error_code ec;
    std::filesystem::path dir = std::filesystem::temp_directory_path(ec);
    std::string rescue =
        (dir / fmt::format("faultgraph-trained-{}-{}.onnx", model, getpid())).string();
    try {
      export_onnx(trained, rescue);
    } catch (const Error&) {
      FG_FAIL(UsageError, e.what(), "; the trained model could not be saved in ", dir.string(),
              " either");
    }
    FG_FAIL(UsageError, e.what(), "; the trained model was saved to ", rescue, " instead");
  }
}

namespace {
struct TrainArgs {
  std::string model = "seed_inception";
  DatasetArgs data;
  std::string out = "model.onnx";
  double width = 1.0;
  TrainOptions options;
};

int run_train(TrainArgs a) {
  // Before hours of training: the model file and checkpoint folder must be writable.
  check_output_file(a.out);
  check_output_not_input(a.out, a.data.spec, "the dataset");
  if (!a.options.checkpoint_dir.empty()) prepare_output_dir(a.options.checkpoint_dir);
  DatasetSplits data = load_dataset(a.data);
  Graph model = model_for(a.model, data.train, a.width, a.options.seed);
  fmt::print("training {} on {}: {} training and {} test images, {} classes, {}x{}x{}\n", a.model,
             a.data.spec, data.train.size(), data.test.size(), data.train.classes,
             data.train.images.size(1), data.train.images.size(2), data.train.images.size(3));
  std::fflush(stdout);
  std::vector<EpochStats> history;
  std::string stem = curves_stem(a.out);
  auto report = [&history, &stem](const EpochStats& s) {
    fmt::print(
        "epoch {}: lr {:.3g}  loss {:.4f}  train accuracy {:.2f}%  test loss {:.4f}  test "
        "accuracy {:.2f}%  {:.0f} img/s  {:.0f} s\n",
        s.epoch, s.learning_rate, s.loss, 100 * s.train_accuracy, s.validation_loss,
        100 * s.validation_accuracy, s.images_per_second, s.seconds);
    write_training_curves(history, stem);
    std::fflush(stdout);
  };
  Graph trained = train(model, data.train, data.test, a.options, &history, report);
  save_trained(trained, a.out, a.model);
  fmt::print("wrote {} (training curves: {}.curves.png, {}.history.csv)\n", a.out, stem, stem);
  return 0;
}
}  // namespace

Command add_train(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "Train a built-in model and save it as ONNX");
  cmd->add_option("-m,--model", args->model, "built-in architecture (see 'faultgraph models')")
      ->capture_default_str();
  cmd->add_option("--width", args->width, "width multiplier of the architecture")
      ->check(kPositive)
      ->capture_default_str();
  add_dataset_options(cmd, args->data, false);
  TrainOptions& o = args->options;
  cmd->add_option("-e,--epochs", o.epochs, "epochs")->check(kPositive)->capture_default_str();
  cmd->add_option("-b,--batch", o.batch, "batch size")->check(kPositive)->capture_default_str();
  cmd->add_option("--lr", o.learning_rate, "learning rate")
      ->check(kPositive)
      ->capture_default_str();
  cmd->add_option("--optimizer", o.optimizer, "adam or sgd (with momentum)")
      ->check(CLI::IsMember({"adam", "sgd"}))
      ->capture_default_str();
  cmd->add_option("--momentum", o.momentum, "SGD momentum")
      ->check(number_from(0, 1))
      ->capture_default_str();
  cmd->add_option("--weight-decay", o.weight_decay, "L2 weight decay")
      ->check(kNonNegative)
      ->capture_default_str();
  cmd->add_option("--schedule", o.schedule, "learning-rate schedule: constant, step or cosine")
      ->check(CLI::IsMember({"constant", "step", "cosine"}))
      ->capture_default_str();
  cmd->add_option("--step-epochs", o.step_epochs, "step schedule: epochs between decays")
      ->check(kPositive)
      ->capture_default_str();
  cmd->add_option("--gamma", o.gamma, "step schedule: factor at each decay")
      ->check(kPositive)
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "initialisation and shuffling seed")
      ->check(kSeed)
      ->capture_default_str();
  cmd->add_option("--limit", o.limit, "train on the first N images only")->check(kNonNegative);
  cmd->add_option("--checkpoint", o.checkpoint_dir,
                  "folder for a checkpoint after every epoch (model, optimiser state)");
  cmd->add_flag("--resume", o.resume, "continue from the checkpoint in --checkpoint, if any");
  cmd->add_option("-o,--out", args->out,
                  "where to save the trained model (ONNX; missing folders are created)")
      ->capture_default_str();
  return {cmd, [args] { return run_train(*args); }};
}

}  // namespace fg::cli
