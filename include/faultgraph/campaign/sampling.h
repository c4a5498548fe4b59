// The fault population of a campaign and its trials. The population of a site is its
// elements x bits x inputs; trials are drawn without replacement, uniformly over the whole
// population or per stratum (layer, bit, or both), never "layer first, then element".
// Trial i is a pure function of (spec, model, seed, i): any machine, thread count, order or
// batch size gives the same trials.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "faultgraph/campaign/spec.h"
#include "faultgraph/ir/graph.h"

namespace fg {

// One tensor that faults can corrupt, resolved against the model.
struct CampaignSite {
  SiteKind kind = SiteKind::kActivation;
  std::string node;  // node name (the model input's name for kModelInput)
  std::string op;    // the node's op type ("Input" for a model input)
  int index = 0;     // output index (activation) or input index (input edge, weight, bias)
  ValueId value = kNoValue;
  NodeId consumer = kNoNode;  // input edges, weights, biases: only this node sees the fault
  int64_t elements = 0;       // elements of the value at batch 1
  std::string name() const;   // "node", "node:in1", "node:weight", ...
};

// Every site the targets name, in graph (topological) order, each once. ConfigError naming
// the spec's line when a target matches nothing. Shapes are inferred at batch 1 from
// `input_shape` (C x H x W of one sample).
// The last node (Add, Mul or Div) of each LayerNorm that an exporter decomposed into
// ReduceMean, Sub, Pow, Sqrt, Div (torch.onnx before opset 17): a target {op:
// LayerNormalization} matches these as well as LayerNormalization nodes.
std::set<NodeId> decomposed_layer_norm_ends(const Graph& g);
std::vector<CampaignSite> resolve_sites(const Graph& g, const CampaignSpec& spec,
                                        const std::vector<int64_t>& input_shape);

struct Trial {
  int64_t id = 0;
  int stratum = 0;
  int64_t input = 0;              // position in the campaign's input list
  int site = 0;                   // index into the sites
  std::vector<int64_t> elements;  // flat indices into the site's value at batch 1
  int bit = -1;                   // -1: a value fault (no bit)
};

struct Stratum {
  std::string name;  // "all", a site's name, "bit 30", "conv1 bit 30"
  struct Part {
    int site = 0;
    std::vector<int> bits;
    double population = 0;
  };
  std::vector<Part> parts;
  double population = 0;
  int64_t trials = 0;
  int64_t first_trial = 0;
};

class TrialPlan {
 public:
  // Sampled trials: strata and their sizes from the spec's sampling section.
  TrialPlan(const CampaignSpec& spec, std::vector<CampaignSite> sites, int64_t inputs);
  // Replayed trials (a fault list): one stratum, the trials as given (ids 0..n-1).
  TrialPlan(const CampaignSpec& spec, std::vector<CampaignSite> sites, std::vector<Trial> trials,
            int64_t inputs);

  int64_t trials() const { return total_; }
  Trial trial(int64_t id) const;
  const std::vector<Stratum>& strata() const { return strata_; }
  const std::vector<CampaignSite>& sites() const { return sites_; }
  double population() const { return population_; }
  int64_t inputs() const { return inputs_; }
  bool replayed() const { return !listed_.empty(); }
  // How a trial corrupts its elements (kind, format, ...); the bit comes from the trial.
  const FaultSpec& fault() const { return fault_; }

 private:
  std::vector<CampaignSite> sites_;
  std::vector<Stratum> strata_;
  std::vector<Trial> listed_;
  int64_t inputs_ = 0, total_ = 0, elements_ = 1;
  double population_ = 0;
  uint64_t seed_ = 0;
  FaultSpec fault_;
};

// A bijection of [0, n) keyed by `key` (a Feistel network with cycle walking): sampling
// without replacement as a pure function of the index.
uint64_t permute_index(uint64_t i, uint64_t n, uint64_t key);

// The fault list as CSV (header: trial,input,site,kind,node,index,element,bit) and back.
// `input` is the sample's index in the dataset split; `element` lists the flat indices
// (batch 1) separated by spaces when a trial corrupts several; `bit` is empty for value
// faults. Parsing matches rows to `sites` by kind, node and index, fills `input_ids` with
// the distinct inputs in order of appearance, and numbers the trials 0..n-1 in file order.
// `samples`, when >= 0, is the split's size: a row with an input past it is an error.
std::string trials_csv(const TrialPlan& plan, const std::vector<int64_t>& input_ids);
std::vector<Trial> parse_trials_csv(const std::string& text, const std::string& source,
                                    const std::vector<CampaignSite>& sites, int width,
                                    std::vector<int64_t>& input_ids, int64_t samples = -1);

}  // namespace fg
