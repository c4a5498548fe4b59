// faultgraph: hardware fault injection for deep neural networks with branches.
// The one place where errors are caught: bad input prints one line and exits 2.
#include <c10/util/Exception.h>
#include <fmt/core.h>
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "commands.h"
#include "faultgraph/campaign/mpi.h"
#include "faultgraph/core/error.h"
#include "faultgraph/core/interrupt.h"
#include "faultgraph/exec/runtime.h"
#include "faultgraph/ir/graph.h"

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
// The deepest subcommand the command line reached ("faultgraph campaign run": run).
const CLI::App* parsed_command(const CLI::App& app) {
  const CLI::App* cur = &app;
  for (;;) {
    const CLI::App* next = nullptr;
    for (const CLI::App* s : cur->get_subcommands({})) {
      if (s->parsed()) next = next ? next : s;
    }
    if (next == nullptr) return cur;
    cur = next;
  }
}

std::string command_path(const CLI::App* a) {
  std::string path;
  for (; a != nullptr; a = a->get_parent()) {
    path = a->get_parent() == nullptr ? "faultgraph" + path : " " + a->get_name() + path;
  }
  return path;
}

// The known name a mistyped one most likely meant: one that begins the other ("--batch" for
// "--batch-size", "--db" for "--dbb"), the longest such, else the nearest by edit distance.
std::string nearest_name(const std::string& name, const std::vector<std::string>& known) {
  std::string best;
  for (const std::string& k : known) {
    const std::string& shorter = k.size() < name.size() ? k : name;
    const std::string& longer = k.size() < name.size() ? name : k;
    const size_t skip = shorter.rfind("--", 0) == 0 ? 2 : 0;
    if (shorter.size() >= skip + 2 && longer.rfind(shorter, 0) == 0 && k.size() > best.size())
      best = k;
  }
  if (!best.empty()) return best;
  // Edit distance over the names without their dashes ("--bogus" is not "--out").
  auto bare = [](const std::string& n) {
    const size_t first = n.find_first_not_of('-');
    return first == std::string::npos ? std::string() : n.substr(first);
  };
  std::vector<std::string> bare_known;
  for (const std::string& k : known) bare_known.push_back(bare(k));
  const std::vector<std::string> near = fg::closest_names(bare(name), bare_known, 1);
  if (near.empty()) return "";
  for (const std::string& k : known) {
    if (bare(k) == near[0]) return k;
  }
  return "";
}

std::string unknown_command(const CLI::App* cmd, const std::string& word) {
  std::vector<std::string> names;
  for (const CLI::App* s : cmd->get_subcommands({})) names.push_back(s->get_name());
  if (word.empty())
    return fmt::format("{}: give a command: {} (see {} --help)", command_path(cmd),
                       fmt::join(names, ", "), command_path(cmd));
  const std::string near = nearest_name(word, names);
  return fmt::format("{}: unknown command {}{}; the commands: {} (see {} --help)",
                     command_path(cmd), word, near.empty() ? "" : " (did you mean " + near + "?)",
                     fmt::join(names, ", "), command_path(cmd));
}

// The app that declares option `name` ("--threads": the top level), from `cmd` up.
const CLI::App* option_owner(const CLI::App* cmd, const std::string& name) {
  for (const CLI::App* a = cmd; a != nullptr; a = a->get_parent()) {
    if (a->get_option_no_throw(name) != nullptr) return a;
  }
  return cmd;
}

// One line for a command line CLI11 refused, naming the command and the fix where CLI11's
// own words do not: an unknown option gets the nearest known one ("The following arguments
// were not expected: 0 --batch-size"), a number too large for its option says so ("Could not
// convert: --threads = 99999999999").
std::string parse_error_line(const CLI::App& app, const CLI::ParseError& e,
                             const std::vector<std::string>& args) {
  const CLI::App* cmd = parsed_command(app);
  // Words no command took (with --threads falling through to the top level, CLI11 keeps them
  // all there): they belong to the deepest command named before the first of them, so that
  // "faultgraph campaing run" is a mistyped command, not `run` without its model.
  const std::vector<std::string> extras = app.remaining(true);
  if (!extras.empty()) {
    std::vector<const CLI::App*> chain;
    for (const CLI::App* a = cmd; a != nullptr; a = a->get_parent()) chain.insert(chain.begin(), a);
    const auto first = std::find(args.begin(), args.end(), extras.front());
    const CLI::App* owner = chain.front();
    auto at = args.begin();
    for (size_t i = 1; i < chain.size(); ++i) {
      at = std::find(at, args.end(), chain[i]->get_name());
      if (at >= first) break;
      owner = chain[i];
    }
    const std::string path = command_path(owner);
    const std::string help = fmt::format(" (see {} --help)", path);
    const std::string& x = extras.front();
    if (x.size() >= 2 && x[0] == '-') {
      std::vector<std::string> known;
      for (const CLI::App* a = owner; a != nullptr; a = a->get_parent()) {
        for (const CLI::Option* o : a->get_options({})) {
          for (const std::string& n : o->get_lnames()) known.push_back("--" + n);
          for (const std::string& n : o->get_snames()) known.push_back("-" + n);
        }
      }
      const std::string name = x.substr(0, x.find('='));
      // No guess for a one-letter option: any other letter is as near.
      const std::string near = name.size() <= 2 ? "" : nearest_name(name, known);
      return fmt::format("{}: unknown option {}{}{}", path, name,
                         near.empty() ? "" : "; did you mean " + near + "?", help);
    }
    if (!owner->get_subcommands({}).empty()) return unknown_command(owner, x);
    return fmt::format("{}: unexpected argument{} {}{}", path, extras.size() > 1 ? "s" : "",
                       fmt::join(extras, " "), help);
  }
  const std::string path = command_path(cmd);
  const std::string help = fmt::format(" (see {} --help)", path);
  // "faultgraph campaign": CLI11 says "A subcommand is required".
  if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr && !cmd->get_subcommands({}).empty())
    return unknown_command(cmd, "");
  // "--threads 1 run --threads 2": CLI11 says "--threads: At Most 1 required but received 2".
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr) {
    const std::string what = e.what();
    const size_t at = what.find(": At Most 1 required but received ");
    if (at != std::string::npos) {
      const std::string option = what.substr(0, at);
      const std::string owner = command_path(option_owner(cmd, option));
      return fmt::format("{}: {} is given more than once; keep one (see {} --help)", owner, option,
                         owner);
    }
  }
  if (dynamic_cast<const CLI::ConversionError*>(&e) != nullptr) {
    const std::string what = e.what();
    const std::string prefix = "Could not convert: ";
    const size_t eq = what.find(" = ");
    if (what.rfind(prefix, 0) == 0 && eq != std::string::npos) {
      const std::string option = what.substr(prefix.size(), eq - prefix.size());
      const std::string value = what.substr(eq + 3);
      const std::string owner = command_path(option_owner(cmd, option));
      const size_t sign = value.rfind('-', 0) == 0 || value.rfind('+', 0) == 0 ? 1 : 0;
      const bool digits =
          value.size() > sign && value.find_first_not_of("0123456789", sign) == std::string::npos;
      return fmt::format("{}: {}: '{}' {} (see {} --help)", owner, option, value,
                         digits ? "is out of range" : "is not a whole number", owner);
    }
  }
  return fmt::format("{}: {}{}", path, e.what(), help);
}

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
  // --threads after the command too ("faultgraph campaign run spec.yml --threads 2" was
  // refused as an unexpected argument); the commands made below inherit this.
  app.fallthrough();
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
    fmt::print(stderr, "{}\n",
               parse_error_line(app, e, std::vector<std::string>(argv, argv + argc)));
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
