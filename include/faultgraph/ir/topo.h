// Topological order of a graph's nodes.
#pragma once

#include <vector>

#include "faultgraph/ir/graph.h"

namespace fg {

// Nodes in an order where every node comes after the producers of its inputs; among
// ready nodes the one first in the graph comes first, so an already sorted graph keeps
// its order. Throws ModelFormatError naming a node on a cycle, or a node reading a value
// that nothing defines.
std::vector<NodeId> topological_order(const Graph& g);

}  // namespace fg
