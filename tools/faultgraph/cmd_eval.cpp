// faultgraph eval --model model.onnx --dataset D: top-1 and top-5 accuracy, loss,
// per-class accuracy and the confusion matrix (CSV and PNG heatmap) of a model.
#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "commands.h"
#include "faultgraph/core/error.h"
#include "faultgraph/core/files.h"
#include "faultgraph/core/progress.h"
#include "faultgraph/eval/evaluate.h"
#include "faultgraph/exec/executor.h"
#include "faultgraph/io/onnx.h"
#include "faultgraph/ir/graph.h"
#include "faultgraph/models/zoo.h"
#include "faultgraph/ops/infer.h"

namespace fg::cli {

Graph load_model(const std::string& spec, const LabelledImages* data) {
  std::error_code ec;
  if (!std::filesystem::exists(spec, ec)) {
    std::vector<std::string> names;
    for (const ModelInfo& m : builtin_models()) {
      if (m.name == spec) return data ? model_for(spec, *data, 1.0, 0) : build_model(spec);
      names.push_back(m.name);
    }
    // Neither a file nor a built-in model: say both, with the closest name.
    bool looks_like_file =
        spec.find('/') != std::string::npos || spec.find('.') != std::string::npos;
    auto near = closest_names(spec, names, 1);
    FG_CHECK(looks_like_file || near.empty(), UsageError, spec,
             ": no such file, and no built-in model of that name; did you mean '", near.at(0),
             "'? (faultgraph models lists them)");
  }
  Graph g = import_onnx(spec);
  if (data) check_images_fit(g, spec, *data);
  return g;
}

namespace {
struct EvalArgs {
  std::string model;
  DatasetArgs data;
  std::string out = "faultgraph-eval";
  int64_t batch = 256;
  int64_t limit = 0;
};

int run_eval(const EvalArgs& a) {
  prepare_output_dir(a.out);  // before any work: a bad folder fails at once
  DatasetSplits splits = load_dataset(a.data);
  const LabelledImages& data = chosen_split(splits, a.data);
  Graph model = load_model(a.model, &data);
  int64_t n = a.limit > 0 ? std::min(a.limit, data.size()) : data.size();
  FG_CHECK(n > 0, UsageError, "dataset '", a.data.spec, "': the ", a.data.split, " split is empty");
  Executor exec(model);
  Evaluation e{0};
  {
    Progress progress("evaluating", n, "img", false);
    EvalOptions eval_options;
    eval_options.batch = a.batch;
    eval_options.limit = n;
    e = evaluate(exec, data.images, data.labels, data.classes, scores_of(model), eval_options,
                 &progress);
  }
  fmt::print("model {}  dataset {}  {} samples\n", a.model, data.source, e.samples());
  fmt::print("top-1 accuracy {:.2f}%  top-5 accuracy {:.2f}%  loss {:.4f}\n", 100 * e.top1(),
             100 * e.top5(), e.loss());
  if (e.non_finite() > 0) fmt::print("{} samples gave NaN or infinite scores\n", e.non_finite());
  fmt::print("\n{:>5}  {:<16} {:>9}\n", "class", "name", "accuracy");
  auto per_class = e.per_class_accuracy();
  for (size_t i = 0; i < per_class.size(); ++i) {
    std::string name = i < data.class_names.size() ? data.class_names[i] : "";
    if (std::isnan(per_class[i])) {
      fmt::print("{:>5}  {:<16} {:>9}\n", i, name, "-");
    } else {
      fmt::print("{:>5}  {:<16} {:>8.2f}%\n", i, name, 100 * per_class[i]);
    }
  }
  std::filesystem::path out(a.out);
  write_file_atomic((out / "confusion.csv").string(), e.confusion_csv());
  e.write_confusion_png(
      (out / "confusion.png").string(),
      fmt::format("{} on {}", std::filesystem::path(a.model).filename().string(), data.source),
      data.class_names);
  nlohmann::json j = evaluation_json(e);
  j["model"] = a.model;
  j["dataset"] = data.source;
  j["class_names"] = data.class_names;
  write_file_atomic((out / "eval.json").string(), j.dump(2) + "\n");
  fmt::print("\nwrote {0}/eval.json, {0}/confusion.csv, {0}/confusion.png\n", a.out);
  return 0;
}
}  // namespace

Command add_eval(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand("eval",
                                     "Accuracy, loss, per-class accuracy and confusion "
                                     "matrix of a model on a dataset");
  cmd->add_option(
         "-m,--model", args->model,
         "ONNX model, or a built-in architecture's name (untrained, sized for the dataset)")
      ->required();
  add_dataset_options(cmd, args->data, true);
  cmd->add_option("-b,--batch", args->batch, "batch size")->check(kPositive)->capture_default_str();
  cmd->add_option("--limit", args->limit, "evaluate the first N images only")->check(kNonNegative);
  cmd->add_option("-o,--out", args->out,
                  "folder for eval.json and the confusion matrix (created if missing)")
      ->capture_default_str();
  return {cmd, [args] { return run_eval(*args); }};
}

Command add_models(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("models", "List the built-in architectures and their options");
  return {cmd, [] {
            fmt::print("{:<15} {:>12} {:>8} {:>12}  {}\n", "name", "input", "classes", "parameters",
                       "description");
            for (const ModelInfo& m : builtin_models()) {
              Graph g = build_model(m.name);
              int64_t params = 0;
              for (const Node& n : g.nodes()) params += parameter_count(g, n);
              fmt::print("{:<15} {:>12} {:>8} {:>12}  {}\n", m.name,
                         fmt::format("{}x{}x{}", m.channels, m.height, m.width), m.classes, params,
                         m.description);
            }
            fmt::print(
                "\nOptions (faultgraph train): the input shape and the number of classes come from "
                "the dataset;\n--width scales every layer's channels. Inputs of at most 64 pixels "
                "a side (75 for inception_v3)\nget the small-image stem described above.\n");
            return 0;
          }};
}

}  // namespace fg::cli

namespace fg::cli {
namespace {
// A number v with low < v (strict) or low <= v, and v <= high.
CLI::Validator number_in(double low, bool strict, double high, const std::string& what) {
  return CLI::Validator(
      [low, strict, high, what](std::string& text) -> std::string {
        char* end = nullptr;
        double v = std::strtod(text.c_str(), &end);
        bool ok = end != text.c_str() && *end == '\0' && std::isfinite(v) &&
                  (strict ? v > low : v >= low) && v <= high;
        return ok ? std::string() : "'" + text + "' must be " + what;
      },
      what);
}
constexpr double kAny = std::numeric_limits<double>::max();
}  // namespace
const CLI::Validator kPositive = number_in(0.0, true, kAny, "a number above 0");
const CLI::Validator kNonNegative = number_in(0.0, false, kAny, "a number of 0 or more");
const CLI::Validator kSeed = number_in(0.0, false, kAny, "a whole number of 0 or more");

CLI::Validator number_from(double low, double high) {
  return number_in(low, false, high, fmt::format("a number from {} to {}", low, high));
}
}  // namespace fg::cli
