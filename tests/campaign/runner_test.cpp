#include "faultgraph/campaign/runner.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <map>
#include <span>

#include "faultgraph/campaign/report.h"
#include "faultgraph/core/error.h"
#include "faultgraph/fault/insert_faults.h"
#include "faultgraph/models/zoo.h"
#include "test_util.h"

namespace fg {
namespace {

// Executor options for the cone tests: these models are small, so that no window would save
// the FLOPs the default asks of one (ExecOptions::min_window_saving); window every node.
ExecOptions every_window() {
  ExecOptions o;
  o.min_window_saving = 0;
  return o;
}

Graph small_model(const std::string& name) {
  ModelOptions o;
  o.channels = 1;
  o.height = o.width = 28;
  o.classes = 10;
  o.seed = 5;
  return build_model(name, o);
}

CampaignInputs random_inputs(Executor& exec, int64_t n, double scale = 1.0) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1234);
  LabelledImages data;
  data.images = at::rand({n + 3, 1, 28, 28}, gen) * scale;
  data.labels = at::randint(10, {n + 3}, gen);
  data.classes = 10;
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < n; ++i) ids.push_back(i + 2);  // not the first samples
  return inputs_by_id(exec, data, ids);
}

// The same fault made the independent way: a faulty copy of the model (insert_faults) run
// from scratch.
std::vector<at::Tensor> full_forward_with(const Graph& model, const CampaignSite& site,
                                          const Trial& t, const FaultSpec& base,
                                          const at::Tensor& image) {
  FaultSpec spec = base;
  spec.bits = t.bit < 0 ? std::vector<int>{} : std::vector<int>{t.bit};
  spec.selection = Selection::kCoordinates;
  spec.coordinates = t.elements;
  PlannedFault f{{site.kind, site.node, site.index}, spec};
  if (site.kind == SiteKind::kWeight || site.kind == SiteKind::kBias) f.site.index = 0;
  Executor exec(insert_faults(model, {f}));
  return exec.run({image.unsqueeze(0)});
}

struct Agreement {
  int trials = 0, non_masked = 0, due = 0, sdc = 0;
  int batched = 0;        // trials rerun as batched variants that shared a batch at some node
  double cone_error = 0;  // max |cone - full forward| / max |full forward| over the logits
  double cone_flops = 0, downstream_flops = 0;
};

// `scale`: of the random input images (an untrained MobileNetV2's activations shrink layer
// by layer; larger inputs keep values in [1, 2), where a bit-30 flip gives NaN or Inf).
Agreement check_against_full_forward(const std::string& model_name, const std::string& yaml,
                                     int64_t trials, double scale = 1.0) {
  Graph model = small_model(model_name);
  CampaignSpec spec = parse_campaign_spec(
      yaml + "sampling: {trials: " + std::to_string(trials) + "}\nseed: 21\n", "agree.yml");
  Executor exec(model, every_window());
  CampaignInputs inputs = random_inputs(exec, 3, scale);
  TrialPlan plan(spec, resolve_sites(model, spec, {1, 28, 28}), 3);
  Agreement a;
  std::map<int64_t, GoldenCache> golden;
  std::map<int64_t, std::string> expected_of;
  std::map<std::pair<int64_t, bool>, TrialRecord> single;  // (trial, cone): one at a time
  std::map<int64_t, std::vector<Trial>> by_input;
  for (int64_t i = 0; i < plan.trials(); ++i) {
    Trial t = plan.trial(i);
    if (!golden.count(t.input))
      golden.emplace(t.input, exec.run_cached({inputs.images[t.input].unsqueeze(0)}));
    const GoldenCache& g = golden.at(t.input);
    TrialRecord rec = run_trial(exec, g, plan, t, inputs, Recompute::kDownstream);
    TrialRecord full = run_trial(exec, g, plan, t, inputs, Recompute::kFull);
    TrialRecord cone = run_trial(exec, g, plan, t, inputs, Recompute::kCone);
    const CampaignSite& site = plan.sites()[t.site];
    auto reference = full_forward_with(model, site, t, plan.fault(), inputs.images[t.input]);
    std::string expected = outcome_name(classify(g.outputs(), reference));
    expected_of[t.id] = expected;
    single[{t.id, false}] = rec;
    single[{t.id, true}] = cone;
    by_input[t.input].push_back(t);
    EXPECT_EQ(rec.outcome, expected) << model_name << " trial " << i << " at " << site.name()
                                     << " element " << t.elements[0] << " bit " << t.bit;
    EXPECT_EQ(full.outcome, expected) << model_name << " trial " << i;
    EXPECT_EQ(cone.outcome, expected) << model_name << " cone trial " << i << " at " << site.name()
                                      << " element " << t.elements[0] << " bit " << t.bit;
    EXPECT_EQ(cone.first_non_finite.empty(), rec.first_non_finite.empty()) << "trial " << i;
    if (expected != "due" && expected != "masked") {
      RerunResult c = exec.rerun(g, trial_fault(plan, t), Recompute::kCone);
      a.cone_error = std::max(a.cone_error, test::relative_error(c.outputs[0], reference[0]));
    }
    EXPECT_LE(cone.flops, 2 * rec.flops + 1) << "trial " << i;
    a.cone_flops += cone.flops;
    a.downstream_flops += rec.flops;
    if (expected != "due" && expected != "masked") {
      // Same kernels, same shapes: the downstream rerun equals the full forward.
      double diff = (reference[0] - g.outputs()[0]).abs().max().item<double>();
      EXPECT_NEAR(rec.max_abs_diff, diff, 1e-5 * std::max(1.0, diff)) << "trial " << i;
    }
    EXPECT_LE(rec.flops, full.flops) << "trial " << i;
    ++a.trials;
    a.non_masked += expected != "masked";
    a.due += expected == "due";
    a.sdc += expected == "sdc1" || expected == "sdc5";
    if (expected == "due") {
      EXPECT_FALSE(rec.first_non_finite.empty()) << "trial " << i;
    }
  }
  // Batched fault variants: the same trials, seven at a time per input, in both modes.
  for (Recompute mode : {Recompute::kDownstream, Recompute::kCone}) {
    for (auto& [input, trials] : by_input) {
      for (size_t c0 = 0; c0 < trials.size(); c0 += 7) {
        std::span<const Trial> part(trials.data() + c0, std::min<size_t>(7, trials.size() - c0));
        std::vector<ValueFault> faults;
        for (const Trial& t : part) faults.push_back(trial_fault(plan, t));
        std::vector<RerunResult> rr = exec.rerun_batch(golden.at(input), faults, mode);
        std::vector<TrialRecord> recs =
            run_trial_batch(exec, golden.at(input), plan, part, inputs, mode);
        EXPECT_EQ(recs.size(), part.size());
        for (size_t j = 0; j < recs.size(); ++j) {
          EXPECT_EQ(recs[j].id, part[j].id);
          EXPECT_EQ(recs[j].outcome, expected_of.at(part[j].id))
              << model_name << (mode == Recompute::kCone ? " cone" : " downstream")
              << " batched trial " << part[j].id << " at " << recs[j].site << " element "
              << recs[j].elements << " bit " << recs[j].bit;
          // Bit for bit what the trial gives alone, whatever the batch it shared.
          const TrialRecord& alone = single.at({part[j].id, mode == Recompute::kCone});
          if (!std::isnan(alone.max_abs_diff)) {
            EXPECT_EQ(recs[j].max_abs_diff, alone.max_abs_diff) << "trial " << part[j].id;
          }
          EXPECT_EQ(std::isnan(recs[j].max_abs_diff), std::isnan(alone.max_abs_diff));
          EXPECT_EQ(recs[j].faulty_class, alone.faulty_class) << "trial " << part[j].id;
          EXPECT_EQ(recs[j].flops, alone.flops) << "trial " << part[j].id;
          EXPECT_EQ(recs[j].nodes_recomputed, alone.nodes_recomputed) << "trial " << part[j].id;
          EXPECT_EQ(recs[j].first_non_finite, alone.first_non_finite) << "trial " << part[j].id;
          a.batched += rr[j].nodes_batched > 0 ? 1 : 0;
        }
      }
    }
  }
  // Windowed convolutions sum in another order: the stated bound.
  EXPECT_EQ(a.cone_error, 0.0) << model_name;  // windows only where they give the kernel's bits
  std::cout << model_name << ": " << a.trials << " trials, cone vs full forward max relative logit "
            << "error " << a.cone_error << ", cone recomputes "
            << 100 * a.cone_flops / std::max(a.downstream_flops, 1.0) << "% of downstream's FLOPs; "
            << a.batched << " batched reruns shared a batch\n";
  return a;
}

const char* kEverySite =
    "model: m\n"
    "targets:\n"
    "  - {node: '*', site: activation}\n"
    "  - {op: Conv, site: weight}\n"
    "  - {op: Conv, site: bias}\n"
    "  - {op: Concat, site: input_edge}\n"
    "  - {site: model_input}\n"
    "fault: {model: bit_flip, bits: 22-31}\n";

TEST(Runner, ResNet20OutcomesEqualAFullForwardOfTheFaultyModel) {
  Agreement a = check_against_full_forward(
      "resnet20",
      "model: m\ntargets:\n  - {node: '*'}\n  - {op: Conv, site: weight}\n"
      "  - {op: Add, site: input_edge}\nfault: {bits: 22-31}\n",
      600);
  EXPECT_EQ(a.trials, 600);
  EXPECT_GT(a.non_masked, 50);
  EXPECT_GT(a.due, 0);
  EXPECT_GT(a.batched, 100);
}

// The built-in ViT: attention, LayerNorm, GELU and MatMul sites, downstream and cone
// (token-wise windows) against a full forward of the faulty model.
TEST(RunnerBigModels, VisionTransformerOutcomesEqualAFullForwardOfTheFaultyModel) {
  Agreement a = check_against_full_forward(
      "vit",
      "model: m\ntargets:\n  - {node: '*'}\n  - {op: MatMul, site: input_edge}\n"
      "fault: {bits: 22-31}\n",
      400);
  EXPECT_EQ(a.trials, 400);
  EXPECT_GT(a.non_masked, 50);
  EXPECT_GT(a.due, 0);
}

TEST(RunnerBigModels, SeedInceptionOutcomesEqualAFullForwardOfTheFaultyModel) {
  Agreement a = check_against_full_forward("seed_inception", kEverySite, 500);
  EXPECT_GT(a.non_masked, 50);
  EXPECT_GT(a.due, 0);
}

TEST(RunnerBigModels, MobileNetV2OutcomesEqualAFullForwardOfTheFaultyModel) {
  Agreement a = check_against_full_forward(
      "mobilenet_v2",
      "model: m\ntargets:\n  - {node: '*'}\n  - {op: Conv, site: weight}\n"
      "  - {op: Add, site: input_edge}\nfault: {bits: 22-31}\n",
      500, 200.0);
  EXPECT_GT(a.non_masked, 50);
  EXPECT_GT(a.due, 0);
}

TEST(RunnerBigModels, InceptionV3OutcomesEqualAFullForwardOfTheFaultyModel) {
  Agreement a = check_against_full_forward(
      "inception_v3",
      "model: m\ntargets:\n  - {node: '*'}\n  - {op: Concat, site: input_edge}\n"
      "fault: {bits: 22-31}\n",
      300, 50.0);
  EXPECT_GT(a.non_masked, 30);
}

TEST(Runner, ValueFaultsAndMultiElementTrials) {
  Agreement a = check_against_full_forward(
      "resnet20",
      "model: m\ntargets: [{op: Relu}]\nfault: {model: set_value, value: 1e30, elements: 3}\n",
      100);
  EXPECT_GT(a.non_masked, 10);
}

// The same trial table at 1 and 2 threads, one at a time or batched on two trial threads:
// every kernel gives the same bits at any thread count (convolutions always through oneDNN;
// ATen's own choice ran MobileNetV2's 1x1 convolutions through another algorithm at 1
// thread than at 2).
void expect_same_trials_at_one_and_two_threads(const std::string& model_name) {
  SCOPED_TRACE(model_name);
  Graph model = small_model(model_name);
  CampaignSpec spec = parse_campaign_spec(
      "model: m\ntargets: [{op: Conv}, {op: Conv, site: weight}]\nfault: {bits: 0-31}\n"
      "sampling: {mode: stratified, trials: 300}\nseed: 5\n",
      "threads.yml");
  auto run_at = [&](int threads, int workers, Recompute recompute, int batch) {
    int before = at::get_num_threads();
    at::set_num_threads(threads);
    Executor exec(model, every_window());
    CampaignInputs inputs = random_inputs(exec, 4);
    TrialPlan plan(spec, resolve_sites(model, spec, {1, 28, 28}), 4);
    std::vector<TrialRecord> out;
    RunnerOptions o;
    o.progress = false;
    o.recompute = recompute;
    o.workers = workers;  // > 1: batches side by side, each worker single-threaded
    o.batch = batch;
    run_trials(exec, plan, inputs, nullptr, o, [&](const TrialRecord& r) { out.push_back(r); });
    at::set_num_threads(before);
    std::sort(out.begin(), out.end(), [](auto& x, auto& y) { return x.id < y.id; });
    return out;
  };
  auto one = run_at(1, 1, Recompute::kDownstream, 1);
  auto two = run_at(2, 1, Recompute::kDownstream, 1);  // whole layers on two threads
  auto side = run_at(2, 2, Recompute::kCone, 8);       // windowed, batched, two trial threads
  ASSERT_EQ(one.size(), 300u);
  ASSERT_EQ(one.size(), two.size());
  ASSERT_EQ(one.size(), side.size());
  int non_masked = 0;
  for (size_t i = 0; i < one.size(); ++i) {
    for (const auto* other : {&two[i], &side[i]}) {
      EXPECT_EQ(one[i].id, other->id);
      EXPECT_EQ(one[i].site, other->site);
      EXPECT_EQ(one[i].elements, other->elements);
      EXPECT_EQ(one[i].bit, other->bit);
      EXPECT_EQ(one[i].input, other->input);
      EXPECT_EQ(one[i].outcome, other->outcome) << "trial " << one[i].id;
      EXPECT_EQ(one[i].faulty_class, other->faulty_class);
    }
    // The same mode at another thread count: the same bits.
    EXPECT_TRUE(one[i].max_abs_diff == two[i].max_abs_diff ||
                (std::isnan(one[i].max_abs_diff) && std::isnan(two[i].max_abs_diff)))
        << "trial " << one[i].id << ": " << one[i].max_abs_diff << " vs " << two[i].max_abs_diff;
    EXPECT_EQ(one[i].nodes_recomputed, two[i].nodes_recomputed) << "trial " << one[i].id;
    non_masked += one[i].outcome != "masked";
  }
  EXPECT_GT(non_masked, 30);
}

TEST(Runner, SameTrialsAtOneAndTwoThreads) {
  expect_same_trials_at_one_and_two_threads("resnet20");
  expect_same_trials_at_one_and_two_threads("mobilenet_v2");
}

// cone computes a window only where the node's windows give the whole kernel's bits, so
// its trials equal downstream's bit for bit, low mantissa bits included (inexact MatMul and
// Softmax windows made 19 of 2,000 ViT trials masked in one mode and tolerable in the other).
TEST(Runner, ConeEqualsDownstreamBitForBitAtEveryBit) {
  for (const char* model_name : {"vit", "mobilenet_v2"}) {
    SCOPED_TRACE(model_name);
    Graph model = small_model(model_name);
    CampaignSpec spec = parse_campaign_spec(
        "model: m\ntargets: [{node: '*'}]\nfault: {bits: 0-31}\nsampling: {trials: 400}\n"
        "seed: 9\n",
        "cone.yml");
    Executor exec(model, every_window());
    CampaignInputs inputs = random_inputs(exec, 3);
    TrialPlan plan(spec, resolve_sites(model, spec, {1, 28, 28}), 3);
    auto run_as = [&](Recompute recompute) {
      std::vector<TrialRecord> out;
      RunnerOptions o;
      o.progress = false;
      o.recompute = recompute;
      run_trials(exec, plan, inputs, nullptr, o, [&](const TrialRecord& r) { out.push_back(r); });
      std::sort(out.begin(), out.end(), [](auto& x, auto& y) { return x.id < y.id; });
      return out;
    };
    auto down = run_as(Recompute::kDownstream), cone = run_as(Recompute::kCone);
    ASSERT_EQ(down.size(), 400u);
    ASSERT_EQ(cone.size(), 400u);
    int tolerable = 0;
    double down_flops = 0, cone_flops = 0;
    for (size_t i = 0; i < down.size(); ++i) {
      down_flops += down[i].flops;
      cone_flops += cone[i].flops;
      EXPECT_EQ(down[i].outcome, cone[i].outcome)
          << "trial " << down[i].id << " bit " << down[i].bit;
      EXPECT_TRUE(down[i].max_abs_diff == cone[i].max_abs_diff ||
                  (std::isnan(down[i].max_abs_diff) && std::isnan(cone[i].max_abs_diff)))
          << "trial " << down[i].id << ": " << down[i].max_abs_diff << " vs "
          << cone[i].max_abs_diff;
      tolerable += down[i].outcome == "tolerable";
    }
    EXPECT_GT(tolerable, 20);
    EXPECT_LT(cone_flops, down_flops) << "cone windowed nothing";
  }
}

TEST(Runner, StoreResumesWithoutLossOrDuplicates) {
  Graph model = small_model("resnet20");
  CampaignSpec spec = parse_campaign_spec(
      "model: m\ntargets: [{op: Conv}]\nsampling: {trials: 200}\ninputs: {count: 4, correct_only: "
      "false}\n",
      "resume.yml");
  LabelledImages data;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  data.images = at::rand({10, 1, 28, 28}, gen);
  data.labels = at::randint(10, {10}, gen);
  data.classes = 10;
  data.source = "random";
  auto db = test::temp_path("resume.db");
  std::filesystem::remove(db);
  RunnerOptions part;
  part.progress = false;
  part.max_trials = 70;
  CampaignRun first = run_campaign(spec, model, "m", data, db.string(), part);
  EXPECT_EQ(first.summary.ran, 70);
  EXPECT_EQ(first.stored, 70);
  {
    TrialStore reader(db.string(), true);
    EXPECT_TRUE(reader.campaign().finished.empty());
  }
  RunnerOptions rest;
  rest.progress = false;
  CampaignRun second = run_campaign(spec, model, "m", data, db.string(), rest);
  EXPECT_EQ(second.summary.already_done, 70);
  EXPECT_EQ(second.summary.ran, 130);
  TrialStore store(db.string(), true);
  auto trials = store.trials();
  ASSERT_EQ(trials.size(), 200u);
  for (size_t i = 0; i < trials.size(); ++i) EXPECT_EQ(trials[i].id, static_cast<int64_t>(i));
  EXPECT_FALSE(store.campaign().finished.empty());

  // An uninterrupted run gives the same table.
  auto db2 = test::temp_path("straight.db");
  std::filesystem::remove(db2);
  run_campaign(spec, model, "m", data, db2.string(), rest);
  auto straight = TrialStore(db2.string(), true).trials();
  ASSERT_EQ(straight.size(), trials.size());
  for (size_t i = 0; i < trials.size(); ++i) {
    EXPECT_EQ(straight[i].outcome, trials[i].outcome);
    EXPECT_EQ(straight[i].elements, trials[i].elements);
    EXPECT_EQ(straight[i].faulty_value, trials[i].faulty_value);
  }

  // Another spec or model on the same database is refused.
  CampaignSpec other = spec;
  other.seed = 99;
  EXPECT_THROW(run_campaign(other, model, "m", data, db.string(), rest), ConfigError);
  Graph changed = small_model("resnet20");
  for (size_t i = 0; i < changed.values().size(); ++i) {
    Value& v = changed.value(static_cast<ValueId>(i));
    if (v.is_initializer() && v.dtype == DType::kFloat32 && v.data->numel() > 100) {
      v.data = v.data->clone() * 1.5;
      break;
    }
  }
  EXPECT_THROW(run_campaign(spec, changed, "m", data, db.string(), rest), ConfigError);

  // Reports: counts add up, per layer in graph order.
  CampaignReport r = build_campaign_report(store, "layer");
  EXPECT_EQ(r.total.trials, 200);
  int64_t sum = 0;
  for (const auto& row : r.rows) sum += row.counts.trials;
  EXPECT_EQ(sum, 200);
  EXPECT_EQ(r.rows.front().key, "conv1");
  EXPECT_GT(r.mean_flops_fraction, 0.0);
  EXPECT_LT(r.mean_flops_fraction, 1.0);
}

}  // namespace
}  // namespace fg
