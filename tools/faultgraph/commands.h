// Subcommands of the faultgraph CLI: each adds itself to the app and returns the function
// that runs it after parsing.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "faultgraph/campaign/spec.h"
#include "faultgraph/data/dataset.h"
#include "faultgraph/eval/metrics.h"
#include "faultgraph/fault/inject.h"
#include "faultgraph/train/trainer.h"

namespace fg::cli {

struct Command {
  CLI::App* app;             // the subcommand
  std::function<int()> run;  // runs it after parsing
};

Command add_inspect(CLI::App& app);
Command add_run(CLI::App& app);
Command add_ops(CLI::App& app);
Command add_inject(CLI::App& app);
Command add_train(CLI::App& app);
Command add_demo(CLI::App& app);  // the main job; also what `faultgraph` alone runs
Command add_eval(CLI::App& app);
Command add_models(CLI::App& app);
Command add_campaign(CLI::App& app);
Command add_report(CLI::App& app);
Command add_activations(CLI::App& app);

// The model and dataset split a campaign spec names: the model file (relative to the
// spec's folder when it exists there), or a built-in architecture sized for the dataset.
struct CampaignModel {
  Graph model;
  std::string model_name;
  LabelledImages data;
};
CampaignModel load_campaign_model(CampaignSpec spec);

// The --dataset option and its companions, shared by train, eval, inject and demo.
struct DatasetArgs {
  std::string spec = kFashionMnistDir;
  std::string split = "test";  // for commands that evaluate one split
  DatasetOptions options;
};
void add_dataset_options(CLI::App* cmd, DatasetArgs& args, bool with_split);
DatasetSplits load_dataset(const DatasetArgs& args);
const LabelledImages& chosen_split(const DatasetSplits& splits, const DatasetArgs& args);
// DatasetError naming the dataset, the model's input shape and the options that resize
// images, when the images do not fit the model's declared input.
void check_images_fit(const Graph& model, const std::string& model_name,
                      const LabelledImages& data);

// An ONNX file, or the name of a built-in architecture (untrained; sized for `data` when
// given, else at its default size). UsageError with the closest built-in name otherwise;
// DatasetError when `data`'s images do not fit the file's declared input.
Graph load_model(const std::string& spec, const LabelledImages* data = nullptr);

// CLI11 validators with short messages (CLI11's own print the whole double range).
extern const CLI::Validator kPositive;     // a number > 0
extern const CLI::Validator kNonNegative;  // a number >= 0
extern const CLI::Validator kSeed;         // >= 0 (CLI11 takes "-3" for an unsigned 2^64 - 3)
// low <= value <= high (CLI::Range's message prints doubles as 0.000000).
CLI::Validator number_from(double low, double high);
// samples, top1, top5, loss, non-finite outputs, per-class accuracy, confusion matrix.
nlohmann::json evaluation_json(const Evaluation& e);

// A built-in architecture sized for `data` (channels, image size, classes).
Graph model_for(const std::string& name, const LabelledImages& data, double width, uint64_t seed);

// Training curves beside a trained model: `stem`.history.csv (every epoch's numbers) and
// `stem`.curves.png / .svg (accuracy and loss per epoch, train and test), rewritten after
// every epoch. The stem of model.onnx is model.
std::string curves_stem(const std::string& model_path);
// The history CSV and accuracy/loss charts beside the model; a failure is a warning
// (training goes on). The _or_throw form throws it.
void write_training_curves(const std::vector<EpochStats>& history, const std::string& stem);
void write_training_curves_or_throw(const std::vector<EpochStats>& history,
                                    const std::string& stem);
// Saves a freshly trained model; if `out` cannot be written, saves it in the temporary
// folder and throws an error that names both.
void save_trained(const Graph& trained, const std::string& out, const std::string& model);

// The inject workflow's report (table, report.json, confusion matrices, pictures in
// out_dir); returns how many entries did not run.
int inject_and_report(const Graph& model, const std::string& model_name, const FaultConfig& config,
                      const std::string& config_name, const LabelledImages& data,
                      const InjectOptions& options, const std::string& out_dir);

}  // namespace fg::cli
