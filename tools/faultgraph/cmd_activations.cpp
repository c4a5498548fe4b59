// faultgraph activations --model M --dataset D --index K --out DIR: the seed's
// visualization of intermediate layer outputs for one input (src/report/activation_maps.cpp),
// optionally with one fault configuration entry applied (golden | faulty | difference).
#include <fmt/format.h>

#include "commands.h"
#include "faultgraph/core/error.h"
#include "faultgraph/core/files.h"
#include "faultgraph/fault/config.h"
#include "faultgraph/report/activation_maps.h"

namespace fg::cli {

namespace {
struct ActivationArgs {
  std::string model, config, out = "faultgraph-activations";
  DatasetArgs data;
  int64_t index = 0;
  int entry = 0;
  std::vector<std::string> layers;
  ActivationOptions options;
};

int run_activations(ActivationArgs a) {
  prepare_output_dir(a.out);
  FG_CHECK(a.entry == 0 || !a.config.empty(), UsageError, "--entry needs --config");
  FG_CHECK(a.config.empty() || a.entry > 0, UsageError,
           "--config needs --entry N (the configuration entry to apply, 1-based)");
  DatasetSplits splits = load_dataset(a.data);
  const LabelledImages& data = chosen_split(splits, a.data);
  int64_t n = data.images.size(0);
  FG_CHECK(a.index < n, UsageError, "--index ", a.index, ": the ", a.data.split, " split of ",
           data.source, " has ", n, " samples (0..", n - 1, ")");
  Graph model = load_model(a.model, &data);
  std::optional<PlannedFault> fault;
  if (!a.config.empty()) {
    FaultConfig config = load_fault_config(a.config, model);
    FG_CHECK(a.entry <= static_cast<int>(config.entries.size()), UsageError, "--entry ", a.entry,
             ": ", a.config, " has ", config.entries.size(), " entries");
    const FaultConfigEntry& e = config.entries[static_cast<size_t>(a.entry - 1)];
    FG_CHECK(e.fault.has_value(), ConfigError, e.error);
    fault = *e.fault;
  }
  a.options.layers = a.layers;
  std::vector<ActivationMap> maps =
      write_activation_maps(model, data.images[a.index], a.out, a.options, fault, a.index);
  fmt::print("sample {} of {} (label {}): {} layer pictures in {}\n", a.index, data.source,
             data.labels[a.index].item<int64_t>(), maps.size(), a.out);
  for (const ActivationMap& m : maps) {
    fmt::print(
        "  {:<40} {:<20} {}{}\n",
        m.node.size() > 40 ? "..." + m.node.substr(m.node.size() - 37) : m.node, m.op, m.path,
        fault ? fmt::format("  ({} changed{})", m.changed, m.fault_site ? ", fault site" : "")
              : "");
  }
  return 0;
}
}  // namespace

Command add_activations(CLI::App& app) {
  auto args = std::make_shared<ActivationArgs>();
  CLI::App* cmd = app.add_subcommand(
      "activations",
      "Draw each layer's output for one input (golden, or golden|faulty|difference)");
  cmd->add_option("-m,--model", args->model, "ONNX model file, or a built-in architecture's name")
      ->required();
  add_dataset_options(cmd, args->data, true);
  cmd->add_option("-k,--index", args->index, "the sample's index in the split")
      ->check(kNonNegative)
      ->capture_default_str();
  cmd->add_option("-c,--config", args->config,
                  "fault configuration (YAML) holding the fault to show");
  cmd->add_option("-e,--entry", args->entry, "the configuration entry to apply (1-based)")
      ->check(kPositive);
  cmd->add_option("--layers", args->layers, "node-name globs (default: every layer)")
      ->delimiter(',');
  cmd->add_option("--colormap", args->options.colormap,
                  "grey (the seed's), viridis, inferno, magma, jet, hot")
      ->capture_default_str();
  cmd->add_option("--max-channels", args->options.max_channels, "channels drawn per layer")
      ->check(kPositive)
      ->capture_default_str();
  cmd->add_option("-o,--out", args->out, "folder for the PNG files (created if missing)")
      ->capture_default_str();
  return {cmd, [args] { return run_activations(*args); }};
}

}  // namespace fg::cli
