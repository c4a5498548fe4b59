// Runs a campaign's trials: one golden forward per input (the golden cache), then each
// trial as a fault applied by the executor to that cache and recomputed downstream
// (Executor::rerun), classified against the golden outputs and stored.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "faultgraph/campaign/sampling.h"
#include "faultgraph/campaign/spec.h"
#include "faultgraph/data/dataset.h"
#include "faultgraph/exec/executor.h"
#include "faultgraph/store/trial_store.h"

namespace fg {

enum class Outcome { kMasked, kTolerable, kSdc1, kSdc5, kDue };
inline constexpr int kOutcomeCount = 5;
std::string outcome_name(Outcome o);
// The outcome a name stands for (as stored in the database); kMasked for an unknown name.
Outcome outcome_from_name(const std::string& name);

// The outcome of a faulty run against the golden one (DESIGN.md, "Fault model"): masked
// (every output bit-identical), due (a NaN or Inf in an output), tolerable (top-1
// unchanged), sdc5 (the golden top-1 class left the top 5), else sdc1.
Outcome classify(const std::vector<at::Tensor>& golden, const std::vector<at::Tensor>& faulty);

// The inputs of a campaign: dataset indices, their images and labels, and the golden run's
// top-1 class of each (at batch 1, as the trials run).
struct CampaignInputs {
  std::vector<int64_t> ids;
  at::Tensor images, labels;
  std::vector<int64_t> golden_class;
  int64_t candidates_seen = 0;  // images looked at to find them (correct_only)
  // Why there are fewer inputs than the spec's count (the split is smaller, or too few of
  // its images are classified correctly), for a note to the user; empty when as many.
  std::string shortfall;
};
CampaignInputs select_inputs(Executor& exec, const LabelledImages& data, const InputSpec& spec,
                             uint64_t seed);
// Given inputs (a replayed fault list); the golden classes are computed.
CampaignInputs inputs_by_id(Executor& exec, const LabelledImages& data,
                            const std::vector<int64_t>& ids);

// full, downstream or cone (Recompute, exec/executor.h).
bool recompute_from_name(const std::string& name, Recompute& out);

struct RunnerOptions {
  // kCone by default: measured ahead of kDownstream on ResNet-50, InceptionV3 and the seed
  // model, behind on MobileNetV2 and ResNet-20 (README "Performance"); the same bits in both.
  Recompute recompute = Recompute::kCone;
  // Trials run side by side on this many threads, each single-threaded (1: one trial at a
  // time with every compute thread on its kernels; 0: the measured default, 1).
  int workers = 0;
  // Batched fault variants: each worker reruns up to this many trials of one input together
  // (Executor::rerun_batch); 1: one at a time. 0: the measured default (README
  // "Performance"): 1. Results are the same bits at any batch.
  int batch = 0;
  int64_t max_trials = -1;       // stop after this many new trials (-1: all)
  std::vector<int64_t> only;     // run just these trial ids (e.g. a spread-out sample)
  bool progress = true;          // a progress line on a terminal
  double commit_seconds = 1.0;   // a transaction at least this often
  int64_t commit_trials = 2000;  // or after this many trials
  // Called (rank 0) with a line for the user before the trials start, e.g. that the spec's
  // inputs: count found fewer images (CampaignInputs::shortfall, the spec's name first).
  std::function<void(const std::string&)> note;
};

struct RunSummary {
  int64_t ran = 0, already_done = 0;
  int64_t outcomes[kOutcomeCount] = {};
  double seconds = 0;
  double flops = 0;  // recomputed, summed over the trials run
  // The golden runs among `seconds` (one per input and block; campaign plan's estimate).
  int64_t golden_runs = 0;
  double golden_seconds = 0;
  // Under MPI (campaign/mpi.h): ranks, and over all ranks the seconds spent computing
  // trials and in coordination (waiting for messages, encoding and decoding records).
  int ranks = 1;
  double trial_seconds = 0, coordination_seconds = 0;
};

// Runs the trials of `plan` whose ids are not in `store` (null: none stored, results only
// to `on_trial`), grouping them by input so each input's golden run is computed once per
// block. Trials are independent of the order they run in. Ctrl-C commits what is done and
// rethrows Interrupted.
RunSummary run_trials(Executor& exec, const TrialPlan& plan, const CampaignInputs& inputs,
                      TrialStore* store, const RunnerOptions& options,
                      const std::function<void(const TrialRecord&)>& on_trial = nullptr);

// The pieces run_trials is made of (also the MPI runner's, campaign/mpi.h):
// Trials [begin, end) of `trials`, all on `golden`'s input, on `workers` threads (each
// single-threaded), `batch` at a time as batched fault variants; records in order.
std::vector<TrialRecord> run_trials_on(const Executor& exec, const GoldenCache& golden,
                                       const TrialPlan& plan, const CampaignInputs& inputs,
                                       Recompute recompute, const std::vector<Trial>& trials,
                                       size_t begin, size_t end, int workers, size_t batch);
// Trial threads when not given (one per compute thread); the batch.
int default_workers();
size_t default_batch(const RunnerOptions& o);
// Per trial id: true when it is not to run (stored already, or not in `only`); counts the
// stored ones and how many are to run (`max_trials` applied).
std::vector<bool> trials_to_skip(const TrialPlan& plan, const TrialStore* store,
                                 const RunnerOptions& o, int64_t& already_done, int64_t& todo);
// Trials are taken in blocks of this many consecutive ids, grouped by input inside a block.
int64_t trial_block(const TrialPlan& plan);
// About how many golden runs the whole plan costs: one per input and block (a block's trials
// spread over all inputs; fewer when a block holds fewer trials than there are inputs).
int64_t planned_golden_runs(const TrialPlan& plan);

// What the executor applies for a trial: its site's value (and consumer), elements and bit.
ValueFault trial_fault(const TrialPlan& plan, const Trial& t);

// One trial, without storing it (tests, replays).
TrialRecord run_trial(const Executor& exec, const GoldenCache& golden, const TrialPlan& plan,
                      const Trial& t, const CampaignInputs& inputs, Recompute recompute);

// Trials on the same input (`golden`), rerun together as batched fault variants; the
// records equal run_trial's of each.
std::vector<TrialRecord> run_trial_batch(const Executor& exec, const GoldenCache& golden,
                                         const TrialPlan& plan, std::span<const Trial> trials,
                                         const CampaignInputs& inputs, Recompute recompute);

// Content hashes (hex) that tie a database to its model and inputs.
std::string graph_hash(const Graph& g);
std::string inputs_hash(const CampaignInputs& inputs);

// The whole campaign behind `faultgraph campaign run`: resolves sites, selects inputs,
// creates or resumes the database at `db_path` (refusing one made from another spec,
// model or dataset), runs the remaining trials, marks it finished.
struct CampaignRun {
  RunSummary summary;
  int64_t planned = 0, stored = 0;
};
CampaignRun run_campaign(const CampaignSpec& spec, const Graph& model,
                         const std::string& model_name, const LabelledImages& data,
                         const std::string& db_path, const RunnerOptions& options);

// What `campaign plan` and `campaign faults` need: the resolved sites, inputs and trials.
struct PreparedCampaign {
  CampaignInputs inputs;
  TrialPlan plan;
};
PreparedCampaign prepare_campaign(Executor& exec, const CampaignSpec& spec,
                                  const LabelledImages& data);

}  // namespace fg
