// faultgraph inject --model M --config faults.yml --dataset D: the seed's workflow. The
// fault-free model is evaluated once, then each configured fault on its own faulty copy;
// prints a table and writes report.json, confusion matrices (CSV and PNG heatmaps) and Graphviz
// pictures of the model without and with each fault into --out.
#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "commands.h"
#include "faultgraph/core/error.h"
#include "faultgraph/core/files.h"
#include "faultgraph/data/idx.h"
#include "faultgraph/fault/inject.h"
#include "faultgraph/io/npy.h"
#include "faultgraph/io/onnx.h"
#include "faultgraph/ir/dump.h"
#include "faultgraph/ops/infer.h"
#include "faultgraph/report/graphviz.h"
#include "faultgraph/report/html_report.h"

namespace fg::cli {

nlohmann::json evaluation_json(const Evaluation& e) {
  std::vector<std::vector<int64_t>> m;
  auto acc = e.confusion().accessor<int64_t, 2>();
  for (int64_t i = 0; i < e.confusion().size(0); ++i) {
    m.emplace_back();
    for (int64_t j = 0; j < e.confusion().size(1); ++j) m.back().push_back(acc[i][j]);
  }
  return {{"samples", e.samples()},
          {"top1", e.top1()},
          {"top5", e.top5()},
          {"loss", e.loss()},
          {"non_finite_outputs", e.non_finite()},
          {"per_class_accuracy", e.per_class_accuracy()},
          {"confusion", m}};
}

namespace {
struct InjectArgs {
  std::string model;
  std::string config;
  DatasetArgs data;
  std::string out = "faultgraph-inject";
  int64_t batch = 128;
  int64_t limit = 0;
};

// Writes the DOT text and its SVG rendering (Graphviz's library, in-process); returns the
// SVG's path.
std::string write_picture(const std::filesystem::path& base, const std::string& dot) {
  write_file_atomic(base.string() + ".dot", dot);
  std::string svg = base.string() + ".svg";
  render_dot_svg(dot, svg);
  return svg;
}

// Files an earlier run wrote into the folder: removed so that a new report never sits
// beside an old run's pictures, and a folder without report.json is an unfinished run.
void clear_previous_results(const std::filesystem::path& out) {
  static const std::regex ours(
      R"((report\.json|model\.(dot|svg)|golden_confusion\.(csv|png)|accuracy_per_entry\.(png|svg)|entry_[0-9]+(\.dot|\.svg|_confusion\.csv|_confusion\.png))(\.tmp)?)");
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(out, ec)) {
    if (e.is_regular_file(ec) && std::regex_match(e.path().filename().string(), ours))
      std::filesystem::remove(e.path(), ec);
  }
}

int run_inject_command(const InjectArgs& a) {
  prepare_output_dir(a.out);  // before any work: a bad folder fails at once
  DatasetSplits splits = load_dataset(a.data);
  const LabelledImages& data = chosen_split(splits, a.data);
  Graph model = load_model(a.model, &data);
  FaultConfig config = load_fault_config(a.config, model);
  InjectOptions options;
  options.batch = a.batch;
  options.limit = a.limit;
  int failures = inject_and_report(model, a.model, config, a.config, data, options, a.out);
  return failures == 0 ? 0 : 2;
}
}  // namespace

int inject_and_report(const Graph& model, const std::string& model_name, const FaultConfig& config,
                      const std::string& config_name, const LabelledImages& data,
                      const InjectOptions& options, const std::string& out_dir) {
  prepare_output_dir(out_dir);
  std::filesystem::path out(out_dir);
  clear_previous_results(out);
  InjectResult r = run_inject(model, config, data.images, data.labels, data.classes, options);

  Graph typed = with_inferred_types(model);
  std::string golden_picture = write_picture(out / "model", to_dot(typed));
  write_file_atomic((out / "golden_confusion.csv").string(), r.golden.confusion_csv());
  r.golden.write_confusion_png((out / "golden_confusion.png").string(), "golden model",
                               data.class_names);
  fmt::print("model {}  dataset {}  {} samples\n", model_name, data.source, r.golden.samples());
  fmt::print("golden accuracy {:.2f}% (top-5 {:.2f}%)  [{:.1f} s]\n\n", 100 * r.golden.top1(),
             100 * r.golden.top5(), r.golden_seconds);
  fmt::print("{:>3}  {:<34} {:<26} {:>9} {:>8} {:>9} {:>10} {:>14}\n", "#", "site", "fault",
             "accuracy", "drop", "changed", "non-finite", "corrupted");

  nlohmann::json report;
  report["model"] = model_name;
  report["config"] = config_name;
  report["dataset"] = data.source;
  report["seed"] = config.seed;
  report["golden"] = evaluation_json(r.golden);
  report["golden"]["picture"] = golden_picture;
  report["entries"] = nlohmann::json::array();
  int failures = 0;
  for (const EntryResult& e : r.entries) {
    nlohmann::json j{{"index", e.entry.index}, {"line", e.entry.line}, {"label", e.entry.label}};
    if (!e.ran) {
      ++failures;
      fmt::print("{:>3}  {:<34} error: {}\n", e.entry.index, e.entry.label.substr(0, 34), e.error);
      fmt::print(stderr, "faultgraph: error: {}\n", e.error);
      j["error"] = e.error;
      report["entries"].push_back(j);
      continue;
    }
    const FaultSpec& s = e.entry.fault->spec;
    std::string fault = kind_name(s.kind);
    if (s.random_bit) fault += " random bit";
    if (!s.bits.empty()) fault += fmt::format(" bit {}", fmt::join(s.bits, ","));
    if (s.selection == Selection::kProbability) fault += fmt::format(" p={}", s.probability);
    double drop = r.golden.top1() - e.faulty.top1();
    fmt::print("{:>3}  {:<34} {:<26} {:>8.2f}% {:>7.2f}% {:>9} {:>10} {:>14}\n", e.entry.index,
               e.entry.label.substr(0, 34), fault.substr(0, 26), 100 * e.faulty.top1(), 100 * drop,
               e.changed_predictions, e.faulty.non_finite(),
               fmt::format("{}/{}", e.corrupted, e.observed));
    std::string base = fmt::format("entry_{}", e.entry.index);
    write_file_atomic((out / (base + "_confusion.csv")).string(), e.faulty.confusion_csv());
    e.faulty.write_confusion_png((out / (base + "_confusion.png")).string(),
                                 fmt::format("entry {}: {}", e.entry.index, e.entry.label),
                                 data.class_names);
    DotOptions dot;
    dot.highlight.insert(e.fault_node);
    std::string picture =
        write_picture(out / base, to_dot(with_inferred_types(e.faulty_graph), dot));
    j["site"] = describe(e.entry.fault->site);
    j["fault"] = fault;
    j["faulty"] = evaluation_json(e.faulty);
    j["accuracy_drop"] = drop;
    j["changed_predictions"] = e.changed_predictions;
    j["corrupted_values"] = e.corrupted;
    j["observed_values"] = e.observed;
    j["examples"] = nlohmann::json::array();
    for (const auto& c : e.examples) {
      j["examples"].push_back({{"index", c.index}, {"before", c.before}, {"after", c.after}});
    }
    j["picture"] = picture;
    j["seconds"] = e.seconds;
    report["entries"].push_back(j);
    for (const auto& c : e.examples) {
      fmt::print("       element {:>8}: {:>14.6g} -> {:<14.6g}\n", c.index, c.before, c.after);
    }
  }
  std::string chart = write_accuracy_chart(report, out.string());
  if (!chart.empty()) report["accuracy_chart"] = chart;
  std::string json_path = (out / "report.json").string();
  write_file_atomic(json_path, report.dump(2));
  fmt::print(
      "\nwrote {} (and confusion matrices, pictures{}; `faultgraph report {}` makes one HTML "
      "file)\n",
      json_path, chart.empty() ? "" : ", accuracy chart", out_dir);
  return failures;
}

Command add_inject(CLI::App& app) {
  auto args = std::make_shared<InjectArgs>();
  CLI::App* cmd = app.add_subcommand(
      "inject", "Evaluate a model with each configured fault (the InjectTFParallel workflow)");
  cmd->add_option(
         "-m,--model", args->model,
         "ONNX model file, or a built-in architecture's name (untrained, sized for the dataset)")
      ->required();
  cmd->add_option("-c,--config", args->config,
                  "fault configuration (YAML; InjectTFParallel's format accepted)")
      ->required();
  add_dataset_options(cmd, args->data, true);
  cmd->add_option("-b,--batch", args->batch, "batch size")->check(kPositive)->capture_default_str();
  cmd->add_option("--limit", args->limit, "use only the first N samples (0: all)")
      ->check(kNonNegative);
  cmd->add_option("-o,--out", args->out,
                  "folder for report.json, confusion matrices and pictures (created if missing)")
      ->capture_default_str();
  return {cmd, [args] { return run_inject_command(*args); }};
}

}  // namespace fg::cli
