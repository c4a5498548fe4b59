#include "faultgraph/fault/insert_faults.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "faultgraph/core/error.h"
#include "faultgraph/ops/infer.h"

namespace fg {

std::string describe(const FaultSite& s) {
  switch (s.kind) {
    case SiteKind::kActivation:
      return fmt::format("output {} of node '{}'", s.index, s.node);
    case SiteKind::kInputEdge:
      return fmt::format("input {} of node '{}'", s.index, s.node);
    case SiteKind::kWeight:
      return fmt::format("weight of node '{}'", s.node);
    case SiteKind::kBias:
      return fmt::format("bias of node '{}'", s.node);
    case SiteKind::kModelInput:
      return fmt::format("model input '{}'", s.node);
  }
  return "?";
}

namespace {

ValueId model_input(const Graph& g, const std::string& name) {
  for (ValueId v : g.runtime_inputs()) {
    if (g.value(v).name == name) return v;
  }
  std::vector<std::string> names;
  for (ValueId v : g.runtime_inputs()) names.push_back(g.value(v).name);
  FG_FAIL(UsageError, "no model input named '", name,
          "' (inputs: ", fmt::format("{}", fmt::join(names, ", ")), ")");
}

// Inserts `Fault(target)` and returns its node id; the caller rewires consumers.
NodeId add_fault_node(Graph& g, const std::string& base, ValueId target, const FaultSpec& spec,
                      bool batched) {
  std::string name = base + "/fault";
  for (int i = 1; g.find_node(name) || g.find_value(name); ++i)
    name = fmt::format("{}/fault{}", base, i);
  return g.add_node(name, OpKind::kFault, {target}, {name}, to_attrs(spec, batched));
}

void rewire_all_uses(Graph& g, ValueId from, ValueId to, NodeId except) {
  for (size_t n = 0; n < g.nodes().size(); ++n) {
    auto id = static_cast<NodeId>(n);
    if (id == except) continue;
    for (ValueId& in : g.node(id).inputs) {
      if (in == from) in = to;
    }
  }
  for (size_t i = 0; i < g.outputs().size(); ++i) {
    if (g.outputs()[i] == from) g.set_output(i, to);
  }
}

}  // namespace

Graph insert_faults(const Graph& original, const std::vector<PlannedFault>& faults) {
  Graph g = original;  // weights are shared; Fault nodes corrupt copies
  for (const PlannedFault& f : faults) {
    const FaultSite& s = f.site;
    validate(f.spec, describe(s));
    if (s.kind == SiteKind::kModelInput) {
      ValueId in = model_input(g, s.node);
      NodeId fn = add_fault_node(g, s.node, in, f.spec, true);
      rewire_all_uses(g, in, g.node(fn).outputs[0], fn);
      continue;
    }
    NodeId id = g.node_named(s.node).id;
    if (s.kind == SiteKind::kActivation) {
      const Node& n = g.node(id);
      FG_CHECK(s.index >= 0 && static_cast<size_t>(s.index) < n.outputs.size(), UsageError,
               describe(s), ": node '", s.node, "' has ", n.outputs.size(), " output(s)");
      ValueId target = n.outputs[s.index];
      NodeId fn = add_fault_node(g, s.node, target, f.spec, true);
      rewire_all_uses(g, target, g.node(fn).outputs[0], fn);
      continue;
    }
    int index = s.kind == SiteKind::kWeight ? 1 : s.kind == SiteKind::kBias ? 2 : s.index;
    const Node& n = g.node(id);
    FG_CHECK(
        index >= 0 && static_cast<size_t>(index) < n.inputs.size() && n.inputs[index] != kNoValue,
        UsageError, describe(s), ": node '", s.node, "' (", op_name(n.op), ") has no input ",
        index);
    ValueId target = n.inputs[index];
    bool is_param = s.kind == SiteKind::kWeight || s.kind == SiteKind::kBias;
    if (is_param) {
      FG_CHECK(g.value(target).is_initializer(), UsageError, describe(s), ": input ", index,
               " of '", s.node, "' is not a stored parameter");
    }
    NodeId fn = add_fault_node(
        g, s.node + (is_param ? (index == 1 ? "/weight" : "/bias") : fmt::format("/in{}", index)),
        target, f.spec, /*batched=*/!is_param);
    g.node(id).inputs[index] = g.node(fn).outputs[0];
  }
  verify(g);
  return g;
}

std::vector<std::string> fault_node_names(const Graph& g) {
  std::vector<std::string> out;
  for (const Node& n : g.nodes()) {
    if (n.op == OpKind::kFault) out.push_back(n.name);
  }
  return out;
}

}  // namespace fg
