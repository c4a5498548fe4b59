// Pictures of a campaign's results database: SDC and DUE rate per layer (graph order) and
// per operator type with Wilson intervals, the rate per bit position, the outcome breakdown
// per site kind; and the model drawn with each node filled by its measured SDC rate.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "faultgraph/campaign/report.h"
#include "faultgraph/ir/graph.h"
#include "faultgraph/store/trial_store.h"

namespace fg {

struct Picture {
  std::string id;        // file stem: "by_layer", "by_bit", ...
  std::string title;     // what it shows
  std::string caption;   // how to read it
  std::string png, svg;  // paths written
};

// Writes each chart as `dir/ID.png` and `dir/ID.svg`; returns them in report order. Charts
// with nothing to show (no bit faults: no per-bit chart) are left out.
std::vector<Picture> write_campaign_charts(const TrialStore& store, const std::string& dir);

// Outcome counts of the trials at each graph node (the node a site belongs to: an
// activation, weight or bias site's node; an input site's input value).
std::map<std::string, OutcomeCounts> counts_by_node(const TrialStore& store);

// Graphviz DOT of `model`, each node with trials filled by its SDC rate (a sequential
// colour scale from 0 to the highest rate, in a legend), its rate and interval written under
// its name, fault sites with a thick border; nodes without trials stay grey.
std::string vulnerability_dot(const Graph& model,
                              const std::map<std::string, OutcomeCounts>& counts,
                              double z = 1.959963984540054);

}  // namespace fg
