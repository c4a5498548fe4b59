// Subcommands of the faultgraph CLI: each adds itself to the app and returns the function
// that runs it after parsing.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

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

}  // namespace fg::cli
