#include "faultgraph/ir/graph.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "faultgraph/core/error.h"

namespace fg {

ValueId Graph::new_value(const std::string& name) {
  FG_CHECK(!name.empty(), ModelFormatError, "a value must have a name");
  FG_CHECK(value_by_name_.count(name) == 0, ModelFormatError, "value '", name,
           "' is defined twice (ONNX requires single assignment)");
  auto id = static_cast<ValueId>(values_.size());
  Value v;
  v.id = id;
  v.name = name;
  values_.push_back(std::move(v));
  value_by_name_.emplace(name, id);
  return id;
}

ValueId Graph::add_input(const std::string& name, DType dtype, Shape shape) {
  ValueId id = new_value(name);
  Value& v = values_[id];
  v.dtype = dtype;
  v.shape = std::move(shape);
  v.rank_known = true;
  inputs_.push_back(id);
  return id;
}

ValueId Graph::add_initializer(const std::string& name, at::Tensor data) {
  ValueId id = new_value(name);
  Value& v = values_[id];
  v.dtype = from_scalar_type(data.scalar_type());
  v.shape = Shape(data.sizes().begin(), data.sizes().end());
  v.rank_known = true;
  v.data = std::move(data);
  return id;
}

NodeId Graph::add_node(const std::string& name, OpKind op, std::vector<ValueId> inputs,
                       const std::vector<std::string>& output_names, Attrs attrs) {
  auto id = static_cast<NodeId>(nodes_.size());
  std::string node_name = name.empty() ? fmt::format("{}_{}", op_name(op), id) : name;
  // ONNX allows duplicate or empty node names; faultgraph needs unique ones to address
  // fault sites, so a clash gets a numeric suffix.
  if (node_by_name_.count(node_name) != 0) {
    int suffix = 1;
    while (node_by_name_.count(fmt::format("{}_{}", node_name, suffix)) != 0) ++suffix;
    node_name = fmt::format("{}_{}", node_name, suffix);
  }
  for (ValueId in : inputs) {
    FG_CHECK(in == kNoValue || (in >= 0 && static_cast<size_t>(in) < values_.size()), InternalError,
             "node '", node_name, "': input id ", in, " out of range");
  }
  Node n;
  n.id = id;
  n.name = node_name;
  n.op = op;
  n.inputs = std::move(inputs);
  n.attrs = std::move(attrs);
  for (const auto& out : output_names) {
    ValueId v = new_value(out);
    values_[v].producer = id;
    n.outputs.push_back(v);
  }
  node_by_name_.emplace(n.name, id);
  nodes_.push_back(std::move(n));
  return id;
}

void Graph::add_output(ValueId v) { outputs_.push_back(v); }

std::optional<NodeId> Graph::find_node(const std::string& name) const {
  auto it = node_by_name_.find(name);
  if (it == node_by_name_.end()) return std::nullopt;
  return it->second;
}

std::optional<ValueId> Graph::find_value(const std::string& name) const {
  auto it = value_by_name_.find(name);
  if (it == value_by_name_.end()) return std::nullopt;
  return it->second;
}

const Node& Graph::node_named(const std::string& name) const {
  if (auto id = find_node(name)) return nodes_[*id];
  std::vector<std::string> names;
  names.reserve(nodes_.size());
  for (const auto& n : nodes_) names.push_back(n.name);
  auto near = closest_names(name, names);
  FG_FAIL(
      UsageError, "no node named '", name, "'",
      near.empty() ? std::string() : fmt::format("; did you mean '{}'?", fmt::join(near, "', '")));
}

std::vector<std::vector<NodeId>> Graph::consumers() const {
  std::vector<std::vector<NodeId>> out(values_.size());
  for (const auto& n : nodes_) {
    for (ValueId in : n.inputs) {
      if (in != kNoValue) out[in].push_back(n.id);
    }
  }
  return out;
}

std::vector<ValueId> Graph::runtime_inputs() const {
  std::vector<ValueId> out;
  for (ValueId v : inputs_) {
    if (!values_[v].is_initializer()) out.push_back(v);
  }
  return out;
}

namespace {
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (std::tolower(a[i - 1]) == std::tolower(b[j - 1]) ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}
}  // namespace

std::vector<std::string> closest_names(const std::string& name,
                                       const std::vector<std::string>& candidates,
                                       size_t max_count) {
  std::vector<std::pair<size_t, std::string>> scored;
  for (const auto& c : candidates) {
    size_t d = edit_distance(name, c);
    if (d <= std::max<size_t>(2, name.size() / 2)) scored.emplace_back(d, c);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> out;
  for (size_t i = 0; i < scored.size() && i < max_count; ++i) out.push_back(scored[i].second);
  return out;
}

std::optional<SampleMismatch> sample_mismatch(const Graph& g, at::IntArrayRef sample,
                                              size_t input) {
  const std::vector<ValueId> inputs = g.runtime_inputs();
  if (input >= inputs.size()) return std::nullopt;
  const Value& v = g.value(inputs[input]);
  if (!v.rank_known || v.shape.empty()) return std::nullopt;
  bool fits = v.shape.size() == sample.size() + 1;
  for (size_t d = 1; fits && d < v.shape.size(); ++d)
    fits = v.shape[d] < 0 || v.shape[d] == sample[d - 1];
  if (fits) return std::nullopt;
  std::vector<std::string> dims;
  for (size_t d = 1; d < v.shape.size(); ++d)
    dims.push_back(v.shape[d] < 0 ? "?" : std::to_string(v.shape[d]));
  SampleMismatch m;
  m.is = sample.empty() ? "scalars" : fmt::format("{}", fmt::join(sample, " x "));
  m.takes = fmt::format("input '{}' takes {}", v.name,
                        dims.empty() ? "scalars" : fmt::format("{}", fmt::join(dims, " x ")));
  if (v.shape.size() == 4) {
    m.channels = v.shape[1];
    if (v.shape[2] == v.shape[3] && v.shape[2] > 0) m.size = v.shape[2];
  }
  return m;
}

}  // namespace fg
