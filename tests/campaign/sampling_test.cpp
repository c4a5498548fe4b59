#include "faultgraph/campaign/sampling.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "faultgraph/campaign/spec.h"
#include "faultgraph/campaign/stats.h"
#include "faultgraph/core/error.h"
#include "faultgraph/io/onnx.h"
#include "faultgraph/models/zoo.h"
#include "test_util.h"

namespace fg {
namespace {

Graph small_resnet() {
  ModelOptions o;
  o.channels = 1;
  o.height = o.width = 28;
  o.classes = 10;
  o.seed = 3;
  return build_model("resnet20", o);
}

CampaignSpec conv_spec(int64_t trials) {
  CampaignSpec s = parse_campaign_spec(
      "model: resnet20\n"
      "targets:\n  - {op: Conv}\n"
      "fault: {model: bit_flip}\n"
      "sampling: {trials: " +
          std::to_string(trials) + "}\nseed: 11\n",
      "test.yml");
  return s;
}

TEST(Sampling, PermuteIndexIsABijection) {
  for (uint64_t n : {1ULL, 2ULL, 3ULL, 17ULL, 1000ULL, 4097ULL}) {
    std::set<uint64_t> seen;
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t p = permute_index(i, n, 99);
      ASSERT_LT(p, n);
      seen.insert(p);
    }
    EXPECT_EQ(seen.size(), n);
  }
  // Different keys give different orders.
  int same = 0;
  for (uint64_t i = 0; i < 1000; ++i)
    same += permute_index(i, 1000, 1) == permute_index(i, 1000, 2);
  EXPECT_LT(same, 20);
}

TEST(Sampling, SitesInGraphOrderWithElementCounts) {
  Graph g = small_resnet();
  auto sites = resolve_sites(g, conv_spec(10), {1, 28, 28});
  ASSERT_EQ(sites.size(), 19u);  // ResNet-20: 19 convolutions (option-A shortcuts)
  EXPECT_EQ(sites[0].node, "conv1");
  EXPECT_EQ(sites[0].elements, 16 * 28 * 28);
  EXPECT_EQ(sites.back().elements, 64 * 7 * 7);
}

TEST(Sampling, TargetThatMatchesNothingNamesTheLine) {
  Graph g = small_resnet();
  CampaignSpec s = parse_campaign_spec("model: m\ntargets:\n  - {node: 'nope*'}\n", "t.yml");
  try {
    resolve_sites(g, s, {1, 28, 28});
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("t.yml:3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("matches no node"), std::string::npos) << e.what();
  }
}

TEST(Sampling, TrialsArePureAndDistinct) {
  Graph g = small_resnet();
  CampaignSpec spec = conv_spec(2000);
  TrialPlan a(spec, resolve_sites(g, spec, {1, 28, 28}), 7);
  TrialPlan b(spec, resolve_sites(g, spec, {1, 28, 28}), 7);
  std::set<std::tuple<int64_t, int, int64_t, int>> faults;
  for (int64_t i = a.trials() - 1; i >= 0; --i) {  // any order
    Trial x = a.trial(i), y = b.trial(i);
    EXPECT_EQ(x.input, y.input);
    EXPECT_EQ(x.site, y.site);
    EXPECT_EQ(x.elements, y.elements);
    EXPECT_EQ(x.bit, y.bit);
    ASSERT_GE(x.bit, 0);
    ASSERT_LT(x.bit, 32);
    ASSERT_LT(x.input, 7);
    faults.insert({x.input, x.site, x.elements[0], x.bit});
  }
  EXPECT_EQ(faults.size(), 2000u);  // without replacement
  // Another seed, other trials.
  spec.seed = 12;
  TrialPlan c(spec, resolve_sites(g, spec, {1, 28, 28}), 7);
  int same = 0;
  for (int64_t i = 0; i < 200; ++i) same += c.trial(i).elements == a.trial(i).elements;
  EXPECT_LT(same, 10);
}

// Uniform sampling is over the whole population: per-layer trial counts follow the layers'
// sizes (chi-square goodness of fit at a fixed seed), not one layer in N.
TEST(Sampling, UniformCountsAreProportionalToLayerSize) {
  Graph g = small_resnet();
  CampaignSpec spec = conv_spec(20000);
  auto sites = resolve_sites(g, spec, {1, 28, 28});
  TrialPlan plan(spec, sites, 3);
  std::vector<double> count(sites.size(), 0);
  for (int64_t i = 0; i < plan.trials(); ++i) count[static_cast<size_t>(plan.trial(i).site)] += 1;
  double total_elements = 0;
  for (const auto& s : sites) total_elements += static_cast<double>(s.elements);
  double chi2 = 0;
  for (size_t i = 0; i < sites.size(); ++i) {
    double expected = 20000.0 * static_cast<double>(sites[i].elements) / total_elements;
    chi2 += (count[i] - expected) * (count[i] - expected) / expected;
  }
  // 18 degrees of freedom: the 99.9% point is 42.31.
  EXPECT_LT(chi2, 42.31);
  // The small last-stage layers (3136 elements) get far fewer trials than the first ones
  // (12544): layer-first sampling would give them the same.
  EXPECT_GT(count[0], 2.5 * count.back());
}

TEST(Sampling, StratifiedPerLayerLeveugle) {
  Graph g = small_resnet();
  CampaignSpec spec = parse_campaign_spec(
      "model: m\ntargets: [{op: Conv}]\nfault: {bits: [30, 31]}\n"
      "sampling: {mode: stratified, by: layer, margin: 0.05, confidence: 0.95}\n",
      "s.yml");
  auto sites = resolve_sites(g, spec, {1, 28, 28});
  TrialPlan plan(spec, sites, 2);
  ASSERT_EQ(plan.strata().size(), sites.size());
  int64_t total = 0;
  for (size_t h = 0; h < plan.strata().size(); ++h) {
    const Stratum& s = plan.strata()[h];
    EXPECT_DOUBLE_EQ(s.population, 2.0 * 2.0 * static_cast<double>(sites[h].elements));
    EXPECT_EQ(s.trials, leveugle_sample_size(s.population, 0.05, spec.t_value()));
    for (int64_t i = s.first_trial; i < s.first_trial + s.trials; ++i) {
      Trial t = plan.trial(i);
      EXPECT_EQ(t.stratum, static_cast<int>(h));
      EXPECT_EQ(t.site, static_cast<int>(h));
      EXPECT_TRUE(t.bit == 30 || t.bit == 31);
    }
    total += s.trials;
  }
  EXPECT_EQ(plan.trials(), total);
}

TEST(Sampling, StratifiedByBitWithFixedTrials) {
  Graph g = small_resnet();
  CampaignSpec spec = parse_campaign_spec(
      "model: m\ntargets: [{op: Conv}]\nfault: {bits: 28-31}\n"
      "sampling: {mode: stratified, by: bit, trials: 400}\n",
      "s.yml");
  TrialPlan plan(spec, resolve_sites(g, spec, {1, 28, 28}), 2);
  ASSERT_EQ(plan.strata().size(), 4u);
  for (size_t h = 0; h < 4; ++h) {
    EXPECT_EQ(plan.strata()[h].trials, 100);
    EXPECT_EQ(plan.trial(plan.strata()[h].first_trial).bit, 28 + static_cast<int>(h));
  }
}

TEST(Sampling, FaultListRoundTrip) {
  Graph g = small_resnet();
  CampaignSpec spec = conv_spec(50);
  spec.elements = 3;
  auto sites = resolve_sites(g, spec, {1, 28, 28});
  TrialPlan plan(spec, sites, 4);
  std::vector<int64_t> ids = {5, 9, 13, 2};
  std::string csv = trials_csv(plan, ids);
  std::vector<int64_t> read_ids;
  auto trials = parse_trials_csv(csv, "list.csv", sites, 32, read_ids);
  ASSERT_EQ(trials.size(), 50u);
  for (size_t i = 0; i < trials.size(); ++i) {
    Trial t = plan.trial(static_cast<int64_t>(i));
    EXPECT_EQ(t.elements.size(), 3u);
    EXPECT_EQ(trials[i].elements, t.elements);
    EXPECT_EQ(trials[i].site, t.site);
    EXPECT_EQ(trials[i].bit, t.bit);
    EXPECT_EQ(read_ids.at(static_cast<size_t>(trials[i].input)),
              ids.at(static_cast<size_t>(t.input)));
  }
  EXPECT_THROW(parse_trials_csv(
                   "trial,input,site,kind,node,index,element,bit\n0,1,x,activation,nope,0,1,3\n",
                   "bad.csv", sites, 32, read_ids),
               ConfigError);
  // An input past the split: the row named (the split's size given).
  read_ids.clear();
  EXPECT_NO_THROW(parse_trials_csv(csv, "list.csv", sites, 32, read_ids, 14));
  try {
    parse_trials_csv(csv, "list.csv", sites, 32, read_ids, 13);
    ADD_FAILURE() << "input 13 of a 13-sample split accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("list.csv:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(": input 13 is outside the split's 13 samples (0..12)"),
              std::string::npos)
        << e.what();
  }
}

TEST(CampaignSpec, ErrorsNameTheLineAndKey) {
  auto message = [](const std::string& text) {
    try {
      parse_campaign_spec(text, "c.yml");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("model: m\nsampling: {trails: 5}\n").find("did you mean 'trials'"),
            std::string::npos);
  EXPECT_NE(message("model: m\nfault: {bits: [40]}\n").find("c.yml:2"), std::string::npos);
  // A range written backwards is named as such (was "bits 5..2 are outside 0..31").
  EXPECT_NE(message("model: m\nfault: {bits: 5-2}\n")
                .find("fault.bits: 5-2 runs backwards; write the lower bit first (2-5)"),
            std::string::npos)
      << message("model: m\nfault: {bits: 5-2}\n");
  EXPECT_NE(message("model: m\nsampling: {trials: 5, margin: 0.01}\n").find("not both"),
            std::string::npos);
  // trials: 0 ran a whole statistical plan; digits past 64 bits were "not a whole number".
  EXPECT_NE(
      message("model: m\nsampling: {trials: 0}\n").find("c.yml:2: sampling.trials: 0 runs nothing"),
      std::string::npos)
      << message("model: m\nsampling: {trials: 0}\n");
  EXPECT_NE(message("model: m\nsampling: {trials: 99999999999999999999}\n")
                .find("trials: 99999999999999999999 is outside 1..1099511627776"),
            std::string::npos)
      << message("model: m\nsampling: {trials: 99999999999999999999}\n");
  EXPECT_NE(message("model: m\nseed: -99999999999999999999\n").find("seed:"), std::string::npos);
  EXPECT_NE(message("targets: []\n").find("model"), std::string::npos);
  EXPECT_NE(message("model: m\nmodel: n\n").find("twice"), std::string::npos);
  EXPECT_NE(message("model: m\nfault: {format: int8}\n").find("scale"), std::string::npos);
  EXPECT_NE(message("model: m\ntargets: [{site: wieght}]\n").find("wieght"), std::string::npos);
  EXPECT_NE(message("model: [1\n").find("not valid YAML"), std::string::npos);
  // A tab in the indentation is named (was "not valid YAML (illegal map value)" only).
  EXPECT_NE(message("model: m\nsampling:\n\ttrials: 5\n")
                .find("line 3 indents with a tab; YAML indents with spaces only"),
            std::string::npos)
      << message("model: m\nsampling:\n\ttrials: 5\n");
  // Same campaign, other spelling: same canonical form; another seed: different.
  auto a = parse_campaign_spec("model: a.onnx\nseed: 3\nfault: {bits: 30-31}\n", "a.yml");
  auto b = parse_campaign_spec(
      "# comment\nmodel: elsewhere/a.onnx\nfault:\n  bits: [30, 31]\nseed: 3\n", "b.yml");
  auto c = parse_campaign_spec("model: a.onnx\nseed: 4\nfault: {bits: 30-31}\n", "a.yml");
  EXPECT_EQ(a.canonical(), b.canonical());
  EXPECT_NE(a.canonical(), c.canonical());
}

}  // namespace
}  // namespace fg

namespace fg {
namespace {
// {op: LayerNormalization} finds a LayerNorm whether the exporter kept it (opset 17) or
// decomposed it (opset 13: the site is the decomposition's last node, reported as a
// LayerNormalization); {op: MatMul} finds attention's batched products.
TEST(Sampling, LayerNormTargetsMatchTheDecomposedFormToo) {
  auto spec = [](const std::string& op) {
    return parse_campaign_spec("model: m.onnx\ntargets:\n  - {op: " + op +
                                   "}\nfault: {model: bit_flip}\nsampling: {trials: 10}\n",
                               "test.yml");
  };
  for (const char* name : {"layernorm_opset13", "layernorm_opset17"}) {
    SCOPED_TRACE(name);
    Graph g = import_onnx((test::refdata("ops") / (std::string(name) + ".onnx")).string());
    auto sites = resolve_sites(g, spec("LayerNormalization"), {5, 13, 11});
    ASSERT_EQ(sites.size(), 1u);
    EXPECT_EQ(sites[0].op, "LayerNormalization");
    EXPECT_EQ(sites[0].elements, 5 * 13 * 11);
    // The site is the value the graph outputs: the whole normalisation, scale and bias.
    EXPECT_EQ(g.node(*g.find_node(sites[0].node)).outputs[0], g.outputs()[0]);
  }
  Graph att = import_onnx((test::refdata("ops") / "attention_scores.onnx").string());
  EXPECT_EQ(resolve_sites(att, spec("MatMul"), {3, 7, 8}).size(), 2u);
}
}  // namespace
}  // namespace fg
