// Subcommands of the faultgraph CLI: each adds itself to the app and returns the function
// that runs it after parsing.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "faultgraph/data/idx.h"
#include "faultgraph/fault/inject.h"

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

// The seed's Inception-module model sized for `data` (channels, image size, classes).
Graph seed_model_for(const LabelledImages& data, uint64_t seed);

// The inject workflow's report (table, report.json, confusion matrices, pictures in
// out_dir); returns how many entries did not run.
int inject_and_report(const Graph& model, const std::string& model_name, const FaultConfig& config,
                      const std::string& config_name, const LabelledImages& data,
                      const InjectOptions& options, const std::string& out_dir);

}  // namespace fg::cli
