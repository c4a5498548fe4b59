// The insert-faults pass: a copy of a model with Fault nodes placed at the chosen sites
// and every affected consumer rewired. The original graph is never changed.
#pragma once

#include <string>
#include <vector>

#include "faultgraph/fault/fault_model.h"
#include "faultgraph/ir/graph.h"

namespace fg {

enum class SiteKind {
  kActivation,  // output `index` of node `node`: every consumer sees the fault
  kInputEdge,   // input `index` of node `node` only (one branch entering an Add/Concat)
  kWeight,      // the weight (input 1) of node `node`, corrupted once for all samples
  kBias,        // the bias (input 2) of node `node`
  kModelInput,  // the model input named `node`
};

struct FaultSite {
  SiteKind kind = SiteKind::kActivation;
  std::string node;  // node name, or the input's name for kModelInput
  int index = 0;
};

struct PlannedFault {
  FaultSite site;
  FaultSpec spec;
};

std::string describe(const FaultSite& site);

// Returns `g` with one Fault node per planned fault (named "<node>/fault<i>"). Throws
// UsageError naming the site (with the closest node names) when a site does not exist, and
// ConfigError when a spec is invalid.
Graph insert_faults(const Graph& g, const std::vector<PlannedFault>& faults);

// Names of the Fault nodes of a graph, for pictures and reports.
std::vector<std::string> fault_node_names(const Graph& g);

}  // namespace fg
