// Human-readable renderings of a graph: a text listing and Graphviz DOT.
#pragma once

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "faultgraph/ir/graph.h"

namespace fg {

// "f32[1,3,224,224]", "f32[?,1000]", "i64[?]" (unknown rank).
std::string format_type(const Value& v);

// One line per node in topological order: `name = Op(inputs) {attrs} -> outputs: type`.
std::string dump_text(const Graph& g);

struct DotOptions {
  std::unordered_set<std::string> highlight;  // node names drawn in red (fault nodes)
  bool show_shapes = true;
  // Fill colour ("#rrggbb") and an extra label line per node name or graph input name.
  std::unordered_map<std::string, std::string> fill, note;
  std::unordered_set<std::string> marked;  // drawn with a thick border (fault sites)
  // A legend box: (label, fill colour) rows, with a title.
  std::string legend_title;
  std::vector<std::pair<std::string, std::string>> legend;
};
// Graphviz DOT source: one box per node, one edge per value with its type as label.
std::string to_dot(const Graph& g, const DotOptions& options = {});

}  // namespace fg
