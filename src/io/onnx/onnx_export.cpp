#include <fmt/format.h>
#include <onnx/checker.h>

#include "faultgraph/core/error.h"
#include "faultgraph/core/files.h"
#include "faultgraph/io/onnx.h"
#include "faultgraph/ir/topo.h"
#include "faultgraph/ops/infer.h"
#include "io/onnx/tensor_proto.h"
#include "onnx/onnx_pb.h"

namespace fg {

namespace {

void set_type(const Value& v, onnx::ValueInfoProto* vi) {
  vi->set_name(v.name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(dtype_to_onnx(v.dtype));
  if (!v.rank_known) return;
  auto* shape = tt->mutable_shape();
  for (int64_t d : v.shape) {
    auto* dim = shape->add_dim();
    if (d >= 0) {
      dim->set_dim_value(d);
    } else {
      dim->set_dim_param("N");
    }
  }
}

void set_attr(const std::string& name, const AttrValue& value, onnx::AttributeProto* a) {
  using A = onnx::AttributeProto;
  a->set_name(name);
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, int64_t>) {
          a->set_type(A::INT);
          a->set_i(x);
        } else if constexpr (std::is_same_v<T, double>) {
          a->set_type(A::FLOAT);
          a->set_f(static_cast<float>(x));
        } else if constexpr (std::is_same_v<T, std::string>) {
          a->set_type(A::STRING);
          a->set_s(x);
        } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
          a->set_type(A::INTS);
          for (int64_t i : x) a->add_ints(i);
        } else if constexpr (std::is_same_v<T, std::vector<double>>) {
          a->set_type(A::FLOATS);
          for (double f : x) a->add_floats(static_cast<float>(f));
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          a->set_type(A::STRINGS);
          for (const auto& s : x) a->add_strings(s);
        } else {
          a->set_type(A::TENSOR);
          tensor_to_proto(x, "", a->mutable_t());
        }
      },
      value);
}

}  // namespace

std::string export_onnx_bytes(const Graph& graph) {
  Graph g = with_inferred_types(graph);
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("faultgraph");
  m.set_producer_version(FG_VERSION);
  auto* opset = m.add_opset_import();
  opset->set_domain("");
  opset->set_version(g.opset);
  auto* gp = m.mutable_graph();
  gp->set_name(g.name.empty() ? "faultgraph" : g.name);
  for (ValueId v : g.runtime_inputs()) set_type(g.value(v), gp->add_input());
  for (const Value& v : g.values()) {
    if (v.is_initializer()) tensor_to_proto(*v.data, v.name, gp->add_initializer());
  }
  bool has_faults = false;
  // ONNX wants nodes in topological order; passes append nodes at the end.
  for (NodeId id : topological_order(g)) {
    const Node& n = g.node(id);
    auto* np = gp->add_node();
    if (n.op == OpKind::kFault) {
      np->set_domain("ai.faultgraph");
      has_faults = true;
    }
    np->set_name(n.name);
    np->set_op_type(std::string(op_name(n.op)));
    for (ValueId in : n.inputs) np->add_input(in == kNoValue ? "" : g.value(in).name);
    for (ValueId out : n.outputs) np->add_output(g.value(out).name);
    for (const auto& [k, a] : n.attrs.items()) set_attr(k, a, np->add_attribute());
  }
  for (ValueId o : g.outputs()) set_type(g.value(o), gp->add_output());
  if (has_faults) {
    auto* fg_opset = m.add_opset_import();
    fg_opset->set_domain("ai.faultgraph");
    fg_opset->set_version(1);
  }
  std::string bytes;
  FG_CHECK(m.SerializeToString(&bytes), ModelFormatError,
           "cannot serialize the model (over 2 GiB of weights?)");
  return bytes;
}

void export_onnx(const Graph& g, const std::string& path) {
  write_file_atomic(path, export_onnx_bytes(g));
}

void check_onnx_bytes(const std::string& bytes, const std::string& source) {
  onnx::ModelProto m;
  FG_CHECK(m.ParseFromString(bytes), ModelFormatError, source, ": not a valid ONNX protobuf");
  try {
    onnx::checker::check_model(m);
  } catch (const std::exception& e) {
    FG_FAIL(ModelFormatError, source, ": onnx.checker: ", e.what());
  }
}

}  // namespace fg
