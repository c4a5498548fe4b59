// faultgraph campaign run|plan|faults|report|export: statistical fault-injection campaigns
// (docs/campaigns.md). Each subcommand parses its arguments and calls the library.
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "faultgraph/campaign/mpi.h"
#include "faultgraph/campaign/report.h"
#include "faultgraph/campaign/runner.h"
#include "faultgraph/campaign/spec.h"
#include "faultgraph/core/error.h"
#include "faultgraph/core/files.h"
#include "faultgraph/models/zoo.h"

namespace fg::cli {

namespace {
namespace fs = std::filesystem;

struct CampaignArgs {
  std::string spec, db, out, by = "layer", format = "csv", recompute = "cone";
  bool json = false;
  int64_t limit = -1, estimate = 20;
  int workers = 0;
  int batch = 0;
};

// "~/..." in a spec means the user's home folder, as in a shell.
std::string expand_home(const std::string& path) {
  const char* home = std::getenv("HOME");
  if (path.rfind("~/", 0) == 0 && home && *home) return std::string(home) + path.substr(1);
  return path;
}

// A line for the user that changes nothing (stderr, so that stdout stays the report).
void print_note(const std::string& line) { fmt::print(stderr, "faultgraph: note: {}\n", line); }

}  // namespace

CampaignModel load_campaign_model(CampaignSpec spec) {
  spec.model = expand_home(spec.model);
  spec.dataset = expand_home(spec.dataset);
  DatasetArgs d;
  d.spec = spec.dataset == "fashion-mnist" ? kFashionMnistDir : spec.dataset;
  d.split = spec.inputs.split;
  d.options = spec.dataset_options;
  fs::path beside = fs::path(spec.source).parent_path() / spec.model;
  std::error_code ec;
  CampaignModel l;
  DatasetSplits splits;
  try {
    splits = load_dataset(d);
  } catch (const DatasetError& e) {  // named with the spec line that chose the dataset
    FG_FAIL(DatasetError, spec.source, ": dataset: ", e.what());
  }
  l.data = chosen_split(splits, d);
  bool builtin = false;
  for (const ModelInfo& m : builtin_models()) builtin = builtin || m.name == spec.model;
  if (fs::path(spec.model).is_relative() && fs::is_regular_file(beside, ec)) {
    l.model_name = beside.string();
    l.model = load_model(l.model_name);
  } else if (builtin && !fs::exists(spec.model, ec)) {
    l.model_name = spec.model + " (built-in, untrained)";
    l.model = model_for(spec.model, l.data, 1.0, 0);  // the same weights whatever the campaign seed
  } else {
    l.model_name = spec.model;
    l.model = load_model(spec.model);
  }
  return l;
}

namespace {
namespace fs = std::filesystem;

std::string default_db(const std::string& spec) {
  return fs::path(spec).replace_extension(".db").string();
}

int run_run(const CampaignArgs& a) {
  CampaignSpec spec = load_campaign_spec(a.spec);
  RunnerOptions o;
  FG_CHECK(recompute_from_name(a.recompute, o.recompute), UsageError, "--recompute ", a.recompute,
           ": must be full, downstream or cone");
  o.max_trials = a.limit;
  o.workers = a.workers;
  o.batch = a.batch;
  o.note = print_note;
  std::string db = a.db.empty() ? default_db(a.spec) : a.db;
  // Under MPI, rank 0 alone writes the database and prints (campaign/mpi.h).
  const MpiJob job = mpi_job();
  if (job.rank == 0) {
    check_output_file(db);
    TrialStore::check_target(db);  // refused before the header line, not after it
  }
  CampaignModel l = load_campaign_model(spec);
  if (job.rank == 0) {
    fmt::print("campaign {} -> {}  (model {}, {}{} threads, recompute {})\n", a.spec, db,
               l.model_name, job.active() ? fmt::format("{} ranks x ", job.size) : "",
               at::get_num_threads(), a.recompute);
  }
  CampaignRun run = run_campaign(spec, l.model, l.model_name, l.data, db, o);
  if (job.rank != 0) return 0;
  const RunSummary& s = run.summary;
  fmt::print("ran {} trials in {:.1f} s ({:.1f} trials/s){}; {} of {} stored\n", s.ran, s.seconds,
             s.seconds > 0 ? static_cast<double>(s.ran) / s.seconds : 0.0,
             s.already_done ? fmt::format(", {} were done before", s.already_done) : "", run.stored,
             run.planned);
  if (s.ranks > 1 && s.ran > 0) {
    double per_trial = s.trial_seconds / static_cast<double>(s.ran);
    double coord = s.coordination_seconds / static_cast<double>(s.ran);
    fmt::print("MPI: {} ranks; coordination {:.1f} us per trial, {:.2f}% of a trial's {:.2f} ms\n",
               s.ranks, 1e6 * coord, per_trial > 0 ? 100 * coord / per_trial : 0.0,
               1e3 * per_trial);
  }
  fmt::print("\n");
  TrialStore store(db, true);
  fmt::print("{}", format_campaign_report(build_campaign_report(store, "layer")));
  return 0;
}

int run_plan(const CampaignArgs& a) {
  CampaignSpec spec = load_campaign_spec(a.spec);
  CampaignModel l = load_campaign_model(spec);
  Executor exec(l.model);
  PreparedCampaign p = prepare_campaign(exec, spec, l.data);
  if (!p.inputs.shortfall.empty()) print_note(spec.source + ": " + p.inputs.shortfall);
  const TrialPlan& plan = p.plan;
  fmt::print("model {}, {} fault sites, {} inputs{}\n", l.model_name, plan.sites().size(),
             p.inputs.ids.size(),
             spec.inputs.correct_only && !plan.replayed()
                 ? fmt::format(" (correctly classified; {} looked at)", p.inputs.candidates_seen)
                 : "");
  if (plan.replayed()) {
    fmt::print("replaying {} faults from {}\n", plan.trials(), spec.faults_file);
  } else {
    fmt::print("sampling: {}{}, {}\n",
               spec.sampling.mode == SamplingMode::kUniform ? "uniform over the whole population"
                                                            : "stratified by ",
               spec.sampling.mode == SamplingMode::kUniform ? ""
               : spec.sampling.by == StrataBy::kLayer       ? "layer"
               : spec.sampling.by == StrataBy::kBit         ? "bit"
                                                            : "layer and bit",
               spec.sampling.trials > 0
                   ? fmt::format("{} trials", spec.sampling.trials)
                   : fmt::format("Leveugle: margin {}, t = {:.4f}, p = {}", spec.sampling.margin,
                                 spec.t_value(), spec.sampling.p));
  }
  fmt::print("\n{:<48} {:>14} {:>10}\n", "stratum", "population", "trials");
  for (const Stratum& s : plan.strata())
    fmt::print("{:<48} {:>14} {:>10}\n", s.name.size() > 48 ? s.name.substr(0, 45) + "..." : s.name,
               format_count(s.population), s.trials);
  fmt::print("{:<48} {:>14} {:>10}\n", "total", format_count(plan.population()), plan.trials());
  int64_t probe = std::min<int64_t>(plan.trials(), a.estimate);
  if (probe > 0) {
    RunnerOptions o;
    o.progress = false;
    // Spread over the plan: the first ids of a stratified plan all come from its first strata.
    for (int64_t i = 0; i < probe; ++i) o.only.push_back(i * plan.trials() / probe);
    // Once untimed: the first run pays once-per-process costs (oneDNN compiling its kernels,
    // the window checks of the first golden run, trial threads) that a campaign amortises.
    (void)run_trials(exec, plan, p.inputs, nullptr, o);
    RunSummary s = run_trials(exec, plan, p.inputs, nullptr, o);
    // The probe's trials come from different inputs, so it paid a golden run (a forward that
    // keeps every value) for almost each; the campaign pays one per input and block. Counted
    // apart, each at its own rate: the seed model's 0.6 s campaign was estimated at 15 s with
    // both in the trials' time and the once-per-process costs above; now about 2 s (probe
    // trials still run one per input, without the batching of a campaign's).
    const double golden =
        s.golden_seconds / static_cast<double>(std::max<int64_t>(1, s.golden_runs));
    const double per = std::max(0.0, s.seconds - s.golden_seconds) /
                       static_cast<double>(std::max<int64_t>(1, s.ran));
    const double total = per * static_cast<double>(plan.trials()) +
                         golden * static_cast<double>(planned_golden_runs(plan));
    fmt::print(
        "\nmeasured {:.2f} ms per trial and {:.1f} ms per golden run (one per input and block "
        "of trials) on {} trials ({} threads): about {:.0f} s for the whole campaign\n",
        1000 * per, 1000 * golden, s.ran, at::get_num_threads(), total);
  }
  return 0;
}

int run_faults(const CampaignArgs& a) {
  if (!a.out.empty() && a.out != "-") check_output_file(a.out);
  CampaignSpec spec = load_campaign_spec(a.spec);
  CampaignModel l = load_campaign_model(spec);
  if (!a.out.empty() && a.out != "-") {
    check_output_not_input(a.out, spec.source, "the campaign spec");
    check_output_not_input(a.out, l.model_name, "the campaign's model");
  }
  Executor exec(l.model);
  PreparedCampaign p = prepare_campaign(exec, spec, l.data);
  if (!p.inputs.shortfall.empty()) print_note(spec.source + ": " + p.inputs.shortfall);
  std::string csv = trials_csv(p.plan, p.inputs.ids);
  if (a.out.empty() || a.out == "-") {
    std::cout << csv;
  } else {
    write_file_atomic(a.out, csv);
    fmt::print("wrote {} faults to {}\n", p.plan.trials(), a.out);
  }
  return 0;
}

int run_report(const CampaignArgs& a) {
  TrialStore store(a.db, true);
  CampaignReport r = build_campaign_report(store, a.by);
  if (a.json) {
    fmt::print("{}\n", campaign_report_json(r).dump(2));
  } else {
    fmt::print("{}", format_campaign_report(r));
  }
  return 0;
}

int run_export(const CampaignArgs& a) {
  if (!a.out.empty() && a.out != "-") {
    check_output_file(a.out);
    check_output_not_input(a.out, a.db, "the campaign database");
  }
  TrialStore store(a.db, true);
  if (a.out.empty() || a.out == "-") {
    export_trials(store, a.format, std::cout);
  } else {
    std::ostringstream text;
    export_trials(store, a.format, text);
    write_file_atomic(a.out, text.str());
    fmt::print("wrote {} trials to {}\n", store.trial_count(), a.out);
  }
  return 0;
}
}  // namespace

Command add_campaign(CLI::App& app) {
  auto a = std::make_shared<CampaignArgs>();
  CLI::App* cmd = app.add_subcommand(
      "campaign", "Statistical fault-injection campaigns: run, plan, faults, report, export");
  cmd->require_subcommand(1);
  auto spec_arg = [&](CLI::App* c) {
    // Not CLI11's ExistingFile: load_campaign_spec names a missing file or a folder as it
    // does every other input file.
    c->add_option("spec", a->spec, "campaign spec (YAML, see docs/campaigns.md)")->required();
  };
  CLI::App* run = cmd->add_subcommand("run", "Run (or resume) a campaign into its database");
  spec_arg(run);
  run->add_option(
      "--db", a->db,
      "results database (default: the spec's name with .db; missing folders are created)");
  run->add_option("--recompute", a->recompute,
                  "full: every node per trial; downstream: only the nodes the fault reaches; "
                  "cone: only the part of each node's output the fault reaches")
      ->capture_default_str();
  run->add_option("--limit", a->limit, "stop after this many new trials (resume later)")
      ->check(kNonNegative);
  run->add_option("--workers", a->workers,
                  "trials run side by side, each on one thread (0, the default: one per "
                  "--threads; 1: one at a time with every thread on its kernels)")
      ->check(number_from(0, 256));
  run->add_option("--batch", a->batch,
                  "batched fault variants: trials of one input rerun together, stacked along "
                  "the batch dim where their changes reach a layer whole, their windows of a "
                  "convolution in one call where they window it; the same results at any "
                  "batch (1: one at a time; 0: the default, 1)")
      ->check(number_from(0, 1024));
  CLI::App* plan = cmd->add_subcommand(
      "plan", "Population, trials per stratum (Leveugle) and the estimated run time");
  spec_arg(plan);
  plan->add_option("--estimate", a->estimate, "trials to time for the estimate (0: none)")
      ->check(kNonNegative)
      ->capture_default_str();
  CLI::App* faults = cmd->add_subcommand("faults", "Export the campaign's fault list (CSV)");
  spec_arg(faults);
  faults->add_option("-o,--out", a->out,
                     "CSV file (default: standard output; missing folders are created)");
  CLI::App* report = cmd->add_subcommand("report", "Outcome rates with confidence intervals");
  report->add_option("db", a->db, "campaign database")->required();
  report->add_option("--by", a->by, "layer, bit, site, op or input")->capture_default_str();
  report->add_flag("--json", a->json, "machine-readable output");
  CLI::App* exp = cmd->add_subcommand("export", "The trial table as CSV or JSON lines");
  exp->add_option("db", a->db, "campaign database")->required();
  exp->add_option("--format", a->format, "csv or jsonl")->capture_default_str();
  exp->add_option("-o,--out", a->out,
                  "output file (default: standard output; missing folders are created)");
  return {cmd, [a, run, plan, faults, report, exp] {
            if (run->parsed()) return run_run(*a);
            if (plan->parsed()) return run_plan(*a);
            if (faults->parsed()) return run_faults(*a);
            if (report->parsed()) return run_report(*a);
            return run_export(*a);
          }};
}

}  // namespace fg::cli
