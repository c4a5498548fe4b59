#include <ATen/ATen.h>
#include <fmt/format.h>

#include <climits>
#include <fstream>
#include <sstream>

#include "faultgraph/core/error.h"
#include "faultgraph/core/files.h"
#include "faultgraph/io/onnx.h"
#include "faultgraph/ops/infer.h"
#include "io/onnx/tensor_proto.h"
#include "onnx/onnx_pb.h"

namespace fg {

namespace {

// faultgraph's own operators (Fault) live in this ONNX domain.
constexpr const char* kFaultgraphDomain = "ai.faultgraph";

AttrValue convert_attr(const onnx::AttributeProto& a, const std::string& where) {
  using A = onnx::AttributeProto;
  switch (a.type()) {
    case A::INT:
      return static_cast<int64_t>(a.i());
    case A::FLOAT:
      return static_cast<double>(a.f());
    case A::STRING:
      return a.s();
    case A::INTS:
      return std::vector<int64_t>(a.ints().begin(), a.ints().end());
    case A::FLOATS:
      return std::vector<double>(a.floats().begin(), a.floats().end());
    case A::STRINGS:
      return std::vector<std::string>(a.strings().begin(), a.strings().end());
    case A::TENSOR:
      return tensor_from_proto(a.t(), where + ", attribute '" + a.name() + "'");
    default:
      break;
  }
  FG_FAIL(ModelFormatError, where, ": attribute '", a.name(), "' has type ",
          A::AttributeType_Name(a.type()), ", which faultgraph does not support");
}

DType input_dtype(const onnx::ValueInfoProto& vi) {
  FG_CHECK(vi.type().has_tensor_type(), ModelFormatError, "graph input '", vi.name(),
           "' is not a tensor");
  return dtype_from_onnx(vi.type().tensor_type().elem_type(), "graph input '" + vi.name() + "'");
}

Shape input_shape(const onnx::ValueInfoProto& vi) {
  Shape s;
  for (const auto& d : vi.type().tensor_type().shape().dim()) {
    FG_CHECK(!d.has_dim_value() || d.dim_value() >= 0, ModelFormatError, "graph input '", vi.name(),
             "': dim ", s.size(), " is ", d.dim_value(),
             "; a dim is a size >= 0 or a symbolic name");
    s.push_back(d.has_dim_value() ? d.dim_value() : kUnknownDim);
  }
  return s;
}

Graph build(onnx::ModelProto& m) {
  FG_CHECK(m.has_graph(), ModelFormatError, "the file holds no graph (is it an ONNX model?)");
  Graph g;
  g.opset = 0;
  for (const auto& op : m.opset_import()) {
    if (op.domain().empty() || op.domain() == "ai.onnx") g.opset = op.version();
  }
  if (g.opset == 0) g.opset = 1;
  FG_CHECK(g.opset >= 7 && g.opset <= 18, ModelFormatError, "opset ", g.opset,
           " is not supported (faultgraph reads opsets 7 to 18)");
  onnx::GraphProto& gp = *m.mutable_graph();
  g.name = gp.name();

  // The weights' bytes become the tensors' storage (no copy: the proto is dropped after).
  for (onnx::TensorProto& t : *gp.mutable_initializer()) {
    g.add_initializer(t.name(), take_tensor_from_proto(t, "initializer '" + t.name() + "'"));
  }
  for (const auto& vi : gp.input()) {
    if (g.find_value(vi.name())) continue;  // IR < 4 lists initializers as inputs too
    ValueId id = g.add_input(vi.name(), input_dtype(vi), input_shape(vi));
    // No shape at all: the rank is unknown too (not a 0-d scalar).
    if (!vi.type().tensor_type().has_shape()) g.value(id).rank_known = false;
  }
  for (const auto& np : gp.node()) {
    std::string name =
        np.name().empty() ? fmt::format("{}_{}", np.op_type(), g.nodes().size()) : np.name();
    std::string where = fmt::format("node '{}' ({})", name, np.op_type());
    bool faultgraph_op = np.domain() == kFaultgraphDomain && np.op_type() == "Fault";
    FG_CHECK(np.domain().empty() || np.domain() == "ai.onnx" || faultgraph_op, ModelFormatError,
             where, ": operators from domain '", np.domain(), "' are not supported");
    auto op = op_from_name(np.op_type());
    if (!op) {
      std::vector<std::string> known;
      for (size_t i = 0; i < kOpKindCount; ++i) known.emplace_back(op_name(static_cast<OpKind>(i)));
      auto near = closest_names(np.op_type(), known, 1);
      FG_FAIL(ModelFormatError, where, ": unknown op '", np.op_type(), "'",
              near.empty() ? "" : " (did you mean '" + near[0] + "'?)",
              "; run 'faultgraph ops' for the supported list");
    }
    std::vector<ValueId> inputs;
    for (const auto& in : np.input()) {
      if (in.empty()) {
        inputs.push_back(kNoValue);
        continue;
      }
      auto v = g.find_value(in);
      FG_CHECK(v.has_value(), ModelFormatError, where, ": input '", in,
               "' is not defined (missing initializer, or nodes out of topological order)");
      inputs.push_back(*v);
    }
    Attrs attrs;
    for (const auto& a : np.attribute()) attrs.set(a.name(), convert_attr(a, where));
    std::vector<std::string> outs(np.output().begin(), np.output().end());
    for (const auto& o : outs) {
      FG_CHECK(!o.empty(), ModelFormatError, where, ": an output has an empty name");
    }
    // Exporters tie equal initial tensors together through Identity (torch.onnx makes a
    // fresh BatchNorm's running mean an Identity of its bias): such a value becomes an
    // initializer of its own, so training can update it without touching the other.
    if (*op == OpKind::kIdentity && inputs.size() == 1 && inputs[0] != kNoValue &&
        g.value(inputs[0]).is_initializer() && outs.size() == 1 && !g.find_value(outs[0])) {
      g.add_initializer(outs[0], g.value(inputs[0]).data->clone());
      continue;
    }
    g.add_node(name, *op, std::move(inputs), outs, std::move(attrs));
  }
  for (const auto& vi : gp.output()) {
    auto v = g.find_value(vi.name());
    FG_CHECK(v.has_value(), ModelFormatError, "graph output '", vi.name(),
             "' is not produced by any node");
    g.add_output(*v);
  }
  verify(g);
  return with_inferred_types(g);
}

// Rethrows `e` as the same error type with `prefix` in front of its message.
[[noreturn]] void rethrow_with(const std::string& prefix) {
  try {
    throw;
  } catch (const ShapeError& e) {
    throw ShapeError(prefix + e.what());
  } catch (const ModelFormatError& e) {
    throw ModelFormatError(prefix + e.what());
  } catch (const UsageError& e) {
    throw ModelFormatError(prefix + e.what());
  } catch (const c10::Error& e) {
    throw ModelFormatError(prefix + e.what_without_backtrace());
  }
}

}  // namespace

Graph import_onnx_bytes(std::string_view bytes, const std::string& source) {
  onnx::ModelProto m;
  FG_CHECK(!bytes.empty(), ModelFormatError, source, ": the file is empty");
  FG_CHECK(bytes.size() <= INT_MAX, ModelFormatError, source,
           ": larger than the 2 GiB that an ONNX protobuf holds");
  FG_CHECK(m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())), ModelFormatError, source,
           ": not a valid ONNX protobuf (truncated or corrupt file?)");
  try {
    return build(m);
  } catch (...) {
    rethrow_with(source + ": ");
  }
}

Graph import_onnx(const std::string& path) {
  // Protocol buffers hold at most 2 GiB.
  InputFile file = map_input_file<ModelFormatError>(path, "an ONNX model file", uint64_t{2} << 30);
  return import_onnx_bytes(file.bytes(), path);
}

}  // namespace fg
