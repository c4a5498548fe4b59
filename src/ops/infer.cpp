#include "faultgraph/ops/infer.h"

#include <c10/util/Exception.h>

#include "faultgraph/core/error.h"
#include "faultgraph/ir/topo.h"
#include "ops/common.h"

namespace fg {

namespace {
constexpr int64_t kMaxFoldElements = 1 << 12;  // fold only small (shape-like) values

void check_arity(const Graph& g, const Node& n) {
  const OpDef& d = op_def(n.op);
  auto ins = static_cast<int>(n.inputs.size());
  auto outs = static_cast<int>(n.outputs.size());
  FG_CHECK(ins >= d.min_inputs && ins <= d.max_inputs, ModelFormatError, "node '", n.name, "' (",
           d.name, ") has ", ins, " inputs; it takes ", d.min_inputs,
           d.min_inputs == d.max_inputs ? "" : " to " + std::to_string(d.max_inputs));
  FG_CHECK(outs >= d.min_outputs && outs <= d.max_outputs, ModelFormatError, "node '", n.name,
           "' (", d.name, ") has ", outs, " outputs; it produces ", d.min_outputs,
           d.min_outputs == d.max_outputs ? "" : " to " + std::to_string(d.max_outputs));
  for (int i = 0; i < std::min(ins, d.min_inputs); ++i) {
    FG_CHECK(n.inputs[i] != kNoValue, ModelFormatError, "node '", n.name, "' (", d.name,
             "): required input ", i, " is missing");
  }
}

TensorInfo info_of(const Value& v) {
  TensorInfo t;
  t.dtype = v.dtype;
  t.shape = v.shape;
  t.rank_known = v.rank_known;
  if (v.data) t.value = *v.data;
  return t;
}

void try_fold(const Node& n, const OpContext& ctx, const OpDef& d, std::vector<TensorInfo>& out) {
  if (n.inputs.empty()) return;  // Constant computes its value in infer
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    if (n.inputs[i] == kNoValue) continue;
    const TensorInfo& t = ctx.in[i];
    if (!t.value || t.value->numel() > kMaxFoldElements) return;
  }
  std::vector<at::Tensor> ins(n.inputs.size());
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    if (n.inputs[i] != kNoValue) ins[i] = *ctx.in[i].value;
  }
  std::vector<at::Tensor> outs(n.outputs.size());
  KernelArgs args{ins, outs, 0};
  try {
    d.prepare(ctx)(args);
  } catch (const c10::Error& e) {
    FG_FAIL(ShapeError, ctx.where(), ": ", e.what_without_backtrace());
  }
  for (size_t i = 0; i < outs.size(); ++i) {
    if (outs[i].defined() && outs[i].numel() <= kMaxFoldElements) {
      out[i].value = outs[i];
      out[i].dtype = from_scalar_type(outs[i].scalar_type());
      out[i].shape = outs[i].sizes().vec();
      out[i].rank_known = true;
    }
  }
}
}  // namespace

std::vector<TensorInfo> infer_types(const Graph& g, const std::vector<TensorInfo>& inputs) {
  std::vector<TensorInfo> info(g.values().size());
  for (const Value& v : g.values()) {
    if (v.producer == kNoNode) info[v.id] = info_of(v);
  }
  auto runtime = g.runtime_inputs();
  if (!inputs.empty()) {
    FG_CHECK(inputs.size() == runtime.size(), UsageError, "the model takes ", runtime.size(),
             " inputs, got ", inputs.size());
    for (size_t i = 0; i < runtime.size(); ++i) info[runtime[i]] = inputs[i];
  }
  // Declared input shapes are claims like any other: one whose element count passes memory
  // (or 64 bits) is refused here, so that every known shape a node sees can be multiplied out.
  for (ValueId v : runtime) {
    const TensorInfo& t = info[v];
    if (t.shape_known() && t.dtype != DType::kUndefined) {
      ops::check_fits_in_memory("graph input '" + g.value(v).name + "'", t.shape,
                                static_cast<int64_t>(c10::elementSize(to_scalar_type(t.dtype))),
                                "declares");
    }
  }
  for (NodeId id : topological_order(g)) {
    const Node& n = g.node(id);
    check_arity(g, n);
    const OpDef& d = op_def(n.op);
    std::vector<TensorInfo> ins(n.inputs.size());
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (n.inputs[i] != kNoValue) ins[i] = info[n.inputs[i]];
    }
    OpContext ctx{n, ins, g.opset};
    std::vector<TensorInfo> outs;
    try {
      outs = d.infer(ctx);
    } catch (const ShapeError&) {
      throw;
    } catch (const ModelFormatError& e) {
      // Attribute getters do not know the node; add it.
      std::string msg = e.what();
      if (msg.rfind("node '", 0) == 0) throw;
      FG_FAIL(ModelFormatError, ctx.where(), ": ", msg);
    } catch (const c10::Error& e) {
      FG_FAIL(ShapeError, ctx.where(), ": ", e.what_without_backtrace());
    }
    FG_ASSERT(outs.size() == n.outputs.size(), ctx.where(), " inferred ", outs.size(), " outputs");
    for (const TensorInfo& o : outs) {
      if (o.shape_known() && o.dtype != DType::kUndefined) {
        ops::check_fits_in_memory(ctx.where(), o.shape,
                                  static_cast<int64_t>(c10::elementSize(to_scalar_type(o.dtype))));
      }
    }
    try_fold(n, ctx, d, outs);
    for (size_t i = 0; i < outs.size(); ++i) info[n.outputs[i]] = std::move(outs[i]);
  }
  return info;
}

Graph with_inferred_types(const Graph& g) {
  auto info = infer_types(g);
  Graph out = g;
  for (const Value& v : g.values()) {
    if (v.producer == kNoNode) continue;
    Value& w = out.value(v.id);
    w.dtype = info[v.id].dtype;
    w.shape = info[v.id].shape;
    w.rank_known = info[v.id].rank_known;
  }
  return out;
}

void verify(const Graph& g) {
  for (ValueId o : g.outputs()) {
    const Value& v = g.value(o);
    bool defined = v.producer != kNoNode || v.is_initializer();
    for (ValueId in : g.inputs()) defined = defined || in == o;
    FG_CHECK(defined, ModelFormatError, "graph output '", v.name, "' is not produced by any node");
  }
  FG_CHECK(!g.outputs().empty(), ModelFormatError, "the graph has no outputs");
  infer_types(g);
}

int64_t parameter_count(const Graph& g, const Node& n) {
  int64_t count = 0;
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    ValueId in = n.inputs[i];
    if (in == kNoValue) continue;
    // BatchNorm's running mean and variance are statistics, not learned parameters
    // (PyTorch counts them as buffers).
    if (n.op == OpKind::kBatchNormalization && i >= 3) continue;
    const Value& v = g.value(in);
    if (v.is_initializer() && is_floating(v.dtype)) count += v.data->numel();
  }
  return count;
}

}  // namespace fg
