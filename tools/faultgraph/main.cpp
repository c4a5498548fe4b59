// faultgraph: hardware fault injection for deep neural networks with branches.
// The one place where errors are caught: bad input prints one line and exits 2.
#include <c10/util/Exception.h>
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "faultgraph/campaign/mpi.h"
#include "faultgraph/core/error.h"
#include "faultgraph/core/interrupt.h"
#include "faultgraph/exec/runtime.h"

namespace {
int run(int argc, char** argv);
}

int main(int argc, char** argv) {
  try {
    fg::mpi_start(argc, argv);  // joins an MPI job only when mpirun or srun started us
  } catch (const fg::Error& e) {
    fmt::print(stderr, "faultgraph: error: {}\n", e.what());
    return 2;
  }
  int rc = run(argc, argv);
  // A failed rank aborts the job: the others would wait for it forever.
  fg::mpi_stop(rc == 0, rc);
  return rc;
}

namespace {
// "faultgraph: error: " on one process; under MPI, other ranks name themselves.
std::string error_prefix() {
  fg::MpiJob job = fg::mpi_job();
  return job.rank == 0 ? "faultgraph: " : fmt::format("faultgraph (rank {}): ", job.rank);
}

int run(int argc, char** argv) {
  // Table rows reach a pipe or a log as they are printed, not 4 KiB later.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  fg::install_interrupt_handlers();
  CLI::App app{"faultgraph: fault injection for deep neural networks with branches"};
  app.require_subcommand(0, 1);  // none: the main job (demo) on built-in defaults
  app.set_version_flag("--version", std::string("faultgraph ") + FG_VERSION +
                                        (fg::mpi_available() ? " (with MPI)" : " (without MPI)"));
  int threads = 0;
  app.add_option("--threads", threads, "compute threads (default: one per core)")
      ->check(fg::cli::kNonNegative);
  const fg::cli::Command commands[] = {
      fg::cli::add_inspect(app), fg::cli::add_run(app),        fg::cli::add_ops(app),
      fg::cli::add_inject(app),  fg::cli::add_train(app),      fg::cli::add_eval(app),
      fg::cli::add_models(app),  fg::cli::add_demo(app),       fg::cli::add_campaign(app),
      fg::cli::add_report(app),  fg::cli::add_activations(app)};

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "faultgraph: {} (see faultgraph --help)\n", e.what());
    return 2;
  }
  try {
    fg::configure_runtime(threads);
    for (const auto& c : commands) {
      if (c.app->parsed()) return c.run();
    }
    for (const auto& c : commands) {
      if (c.app->get_name() == "demo") return c.run();
    }
    return 2;
  } catch (const fg::Interrupted& e) {
    std::fflush(stdout);
    fmt::print(stderr, "\n{}{}; stopped\n", error_prefix(), e.what());
    return e.exit_code();
  } catch (const fg::Error& e) {
    fmt::print(stderr, "{}error: {}\n", error_prefix(), e.what());
    return 2;
  } catch (const c10::Error& e) {
    fmt::print(stderr, "{}error: {}\n", error_prefix(), e.what_without_backtrace());
    return 2;
  } catch (const std::filesystem::filesystem_error& e) {
    // A path the user gave that the file system refuses (a name too long, no permission).
    fmt::print(stderr, "{}error: {}: {}\n", error_prefix(),
               e.path1().empty() ? std::string("a path") : e.path1().string(), e.code().message());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}internal error (please report): {}\n", error_prefix(), e.what());
    return 3;
  }
}
}  // namespace
