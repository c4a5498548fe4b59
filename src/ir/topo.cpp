#include "faultgraph/ir/topo.h"

#include <queue>

#include "faultgraph/core/error.h"

namespace fg {

std::vector<NodeId> topological_order(const Graph& g) {
  const auto& nodes = g.nodes();
  std::vector<int> pending(nodes.size(), 0);
  auto consumers = g.consumers();
  for (const auto& n : nodes) {
    for (ValueId in : n.inputs) {
      if (in == kNoValue) continue;
      const Value& v = g.value(in);
      if (v.producer != kNoNode) {
        ++pending[n.id];
      } else {
        bool is_input = false;
        for (ValueId gi : g.inputs()) is_input = is_input || gi == in;
        FG_CHECK(v.is_initializer() || is_input, ModelFormatError, "node '", n.name, "' reads '",
                 v.name,
                 "', which is neither a graph input, an initializer nor a node output "
                 "(missing initializer?)");
      }
    }
  }
  std::priority_queue<NodeId, std::vector<NodeId>, std::greater<>> ready;
  for (const auto& n : nodes) {
    if (pending[n.id] == 0) ready.push(n.id);
  }
  std::vector<NodeId> order;
  order.reserve(nodes.size());
  while (!ready.empty()) {
    NodeId id = ready.top();
    ready.pop();
    order.push_back(id);
    for (ValueId out : nodes[id].outputs) {
      for (NodeId c : consumers[out]) {
        if (--pending[c] == 0) ready.push(c);
      }
    }
  }
  if (order.size() != nodes.size()) {
    for (const auto& n : nodes) {
      FG_CHECK(pending[n.id] == 0, ModelFormatError, "node '", n.name,
               "' is on a cycle: the graph is not a DAG");
    }
  }
  return order;
}

}  // namespace fg
