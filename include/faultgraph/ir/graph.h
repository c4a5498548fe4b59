// The graph IR: values (named edges) and nodes, both held by value and referred to by id.
// Nodes keep the names they had in the source model: users select fault sites by them.
// Passes are pure functions Graph -> Graph; a Graph is copyable (weights are shared
// at::Tensors, so a pass that corrupts a weight must clone it first).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "faultgraph/ir/attrs.h"
#include "faultgraph/ir/dtype.h"
#include "faultgraph/ir/op_kind.h"

namespace fg {

using ValueId = int32_t;
using NodeId = int32_t;
inline constexpr ValueId kNoValue = -1;  // an omitted optional input
inline constexpr NodeId kNoNode = -1;

// Dims of a shape; kUnknownDim marks a symbolic one (a dynamic batch, say).
using Shape = std::vector<int64_t>;
inline constexpr int64_t kUnknownDim = -1;

struct Value {
  ValueId id = kNoValue;
  std::string name;
  DType dtype = DType::kUndefined;
  Shape shape;
  bool rank_known = false;         // false: nothing is known of the shape
  NodeId producer = kNoNode;       // kNoNode for graph inputs and initializers
  std::optional<at::Tensor> data;  // set for initializers (weights, constants)

  bool is_initializer() const { return data.has_value(); }
};

struct Node {
  NodeId id = kNoNode;
  std::string name;
  OpKind op{};
  std::vector<ValueId> inputs;  // kNoValue for an omitted optional input
  std::vector<ValueId> outputs;
  Attrs attrs;
};

class Graph {
 public:
  std::string name;
  int64_t opset = 17;  // the default-domain ONNX opset that op semantics follow

  ValueId add_input(const std::string& name, DType dtype, Shape shape);
  ValueId add_initializer(const std::string& name, at::Tensor data);
  // Adds a node and one new value for each output name.
  NodeId add_node(const std::string& name, OpKind op, std::vector<ValueId> inputs,
                  const std::vector<std::string>& output_names, Attrs attrs = {});
  void add_output(ValueId v);
  // Makes graph output `i` the value `v` (passes that insert nodes after an output).
  void set_output(size_t i, ValueId v) { outputs_.at(i) = v; }

  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<Value>& values() const { return values_; }
  const std::vector<ValueId>& inputs() const { return inputs_; }
  const std::vector<ValueId>& outputs() const { return outputs_; }
  const Node& node(NodeId id) const { return nodes_.at(static_cast<size_t>(id)); }
  Node& node(NodeId id) { return nodes_.at(static_cast<size_t>(id)); }
  const Value& value(ValueId id) const { return values_.at(static_cast<size_t>(id)); }
  Value& value(ValueId id) { return values_.at(static_cast<size_t>(id)); }

  std::optional<NodeId> find_node(const std::string& name) const;
  std::optional<ValueId> find_value(const std::string& name) const;
  // The node with this name; UsageError listing the closest names when there is none.
  const Node& node_named(const std::string& name) const;

  // For each value, the nodes that read it (in node order; a node reading a value twice
  // is listed twice).
  std::vector<std::vector<NodeId>> consumers() const;
  // Graph inputs that are not initializers, in declaration order.
  std::vector<ValueId> runtime_inputs() const;

 private:
  ValueId new_value(const std::string& name);

  std::vector<Node> nodes_;
  std::vector<Value> values_;
  std::vector<ValueId> inputs_;
  std::vector<ValueId> outputs_;
  std::unordered_map<std::string, ValueId> value_by_name_;
  std::unordered_map<std::string, NodeId> node_by_name_;
};

// Where samples of shape `sample` (no batch dim: C x H x W for images) do not fit the
// declared shape of the model's runtime input `input` (the first by default): `is` is the
// samples' shape ("1 x 28 x 28"), `takes` names the input and the shape it takes ("input
// 'x' takes 3 x 224 x 224"), `channels` and `size` are its C and its H = W for images (-1
// when not declared or not square). nullopt: they fit, or nothing is declared.
struct SampleMismatch {
  std::string is, takes;
  int64_t channels = -1, size = -1;
};
std::optional<SampleMismatch> sample_mismatch(const Graph& g, at::IntArrayRef sample,
                                              size_t input = 0);

// Names from `candidates` closest to `name` (edit distance), best first.
std::vector<std::string> closest_names(const std::string& name,
                                       const std::vector<std::string>& candidates,
                                       size_t max_count = 3);

}  // namespace fg
