#include "faultgraph/exec/executor.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstring>
#include <limits>

#include "faultgraph/core/error.h"
#include "faultgraph/ir/topo.h"
#include "faultgraph/ops/infer.h"
#include "faultgraph/ops/op.h"

namespace fg {

struct Executor::Plan {
  struct Step {
    NodeId node;
    Kernel kernel;
    uint64_t overwritable = 0;        // inputs the kernel may overwrite (plain run only)
    std::vector<ValueId> free_after;  // values whose last use is this step
    double flops = 0;
    std::optional<Region> region;  // windowed recompute, when the op declares it
  };
  std::vector<TensorInfo> info;
  // Nodes computed from constants only, evaluated once while planning (topological order).
  // A rerun whose change reaches them runs them again, before `steps`.
  std::vector<Step> folded;
  std::vector<Step> steps;            // nodes that depend on the runtime inputs
  std::vector<at::Tensor> constants;  // values known before running (by ValueId)
  double forward_flops = 0;           // of `steps`
};

// An input edge's corrupted value: only `node`'s input `index` sees it.
struct Executor::Override {
  NodeId node;
  int index;
  at::Tensor value;
};

Executor::Executor(Graph graph, ExecOptions options) : graph_(std::move(graph)), options_(options) {
  verify(graph_);
}
Executor::~Executor() = default;

namespace {
std::string signature(const std::vector<at::Tensor>& inputs) {
  std::string s;
  for (const auto& t : inputs) {
    s += fmt::format("{}[{}];", c10::toString(t.scalar_type()), fmt::join(t.sizes(), ","));
  }
  return s;
}

std::optional<Region> prepare_region(const Graph& g, const Node& n,
                                     const std::vector<TensorInfo>& info, bool training) {
  const OpDef& d = op_def(n.op);
  if (d.region == nullptr || training) return std::nullopt;
  std::vector<TensorInfo> ins(n.inputs.size());
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    if (n.inputs[i] != kNoValue) ins[i] = info[n.inputs[i]];
  }
  OpContext ctx{n, ins, g.opset, false};
  return d.region(ctx);
}

Kernel prepare_node(const Graph& g, const Node& n, const std::vector<TensorInfo>& info,
                    bool training) {
  std::vector<TensorInfo> ins(n.inputs.size());
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    if (n.inputs[i] != kNoValue) ins[i] = info[n.inputs[i]];
  }
  OpContext ctx{n, ins, g.opset, training};
  return op_def(n.op).prepare(ctx);
}

double node_flops(const Graph& g, const Node& n, const std::vector<TensorInfo>& info) {
  const OpDef& d = op_def(n.op);
  if (d.moves_data) return 0;
  std::vector<TensorInfo> ins(n.inputs.size()), outs;
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    if (n.inputs[i] != kNoValue) ins[i] = info[n.inputs[i]];
  }
  for (ValueId o : n.outputs) outs.push_back(info[o]);
  OpContext ctx{n, ins, g.opset, false};
  int64_t f = d.flops ? d.flops(ctx, outs) : (outs.empty() ? 0 : outs[0].numel());
  return static_cast<double>(std::max<int64_t>(f, 0));
}

void call_kernel(const Graph& g, const Node& n, const Kernel& k, KernelArgs& args) {
  try {
    k(args);
  } catch (const c10::Error& e) {
    FG_FAIL(ShapeError, "node '", n.name, "' (", op_name(n.op), "): ", e.what_without_backtrace());
  }
}

// Ops whose output may share storage with input 0 (views, pass-through).
bool may_alias(OpKind op) {
  return op_def(op).moves_data || op == OpKind::kClip || op == OpKind::kReduceMean;
}
}  // namespace

Executor::Plan& Executor::plan_for(const std::vector<at::Tensor>& inputs) {
  auto runtime = graph_.runtime_inputs();
  FG_CHECK(inputs.size() == runtime.size(), UsageError, "the model takes ", runtime.size(),
           " input(s), got ", inputs.size());
  std::string key = signature(inputs);
  auto it = plans_.find(key);
  if (it != plans_.end()) return *it->second;

  std::vector<TensorInfo> in_info;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Value& v = graph_.value(runtime[i]);
    const at::Tensor& t = inputs[i];
    FG_CHECK(t.defined(), UsageError, "input '", v.name, "' is undefined");
    DType dt = from_scalar_type(t.scalar_type());
    FG_CHECK(v.dtype == DType::kUndefined || dt == v.dtype, UsageError, "input '", v.name,
             "' must be ", dtype_name(v.dtype), ", got ", dtype_name(dt));
    if (v.rank_known) {
      bool ok = t.dim() == static_cast<int64_t>(v.shape.size());
      // The batch dim may differ from a fixed declared one (models are often exported at
      // batch 1); every other fixed dim must match.
      for (size_t d = 1; ok && d < v.shape.size(); ++d)
        ok = v.shape[d] < 0 || v.shape[d] == t.size(d);
      std::vector<std::string> dims;
      for (int64_t d : v.shape) dims.push_back(d < 0 ? "?" : std::to_string(d));
      FG_CHECK(ok, UsageError, "input '", v.name, "' must have shape [",
               fmt::format("{}", fmt::join(dims, ",")), "], got [",
               fmt::format("{}", fmt::join(t.sizes(), ",")), "]");
    }
    TensorInfo ti;
    ti.dtype = dt;
    ti.shape = t.sizes().vec();
    ti.rank_known = true;
    in_info.push_back(std::move(ti));
  }

  auto plan = std::make_unique<Plan>();
  plan->info = infer_types(graph_, in_info);
  plan->constants.resize(graph_.values().size());
  for (const Value& v : graph_.values()) {
    if (v.data) plan->constants[v.id] = *v.data;
  }
  std::vector<bool> is_const(graph_.values().size(), false);
  // Trainable weights change between runs: nothing computed from them is folded.
  for (const Value& v : graph_.values())
    is_const[v.id] = v.is_initializer() && !v.data->requires_grad();

  // Nodes whose inputs are all known before running are evaluated once, here.
  std::vector<NodeId> runtime_nodes;
  for (NodeId id : topological_order(graph_)) {
    const Node& n = graph_.node(id);
    bool constant = true;
    for (ValueId in : n.inputs) constant = constant && (in == kNoValue || is_const[in]);
    if (!constant) {
      runtime_nodes.push_back(id);
      continue;
    }
    std::vector<at::Tensor> ins(n.inputs.size()), outs(n.outputs.size());
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (n.inputs[i] != kNoValue) ins[i] = plan->constants[n.inputs[i]];
    }
    KernelArgs args{ins, outs, 0};
    Plan::Step folded{n.id,
                      prepare_node(graph_, n, plan->info, options_.training),
                      0,
                      {},
                      node_flops(graph_, n, plan->info)};
    call_kernel(graph_, n, folded.kernel, args);
    plan->folded.push_back(std::move(folded));
    for (size_t i = 0; i < outs.size(); ++i) {
      plan->constants[n.outputs[i]] = outs[i];
      is_const[n.outputs[i]] = true;
    }
  }

  // Lifetimes: a value dies after the last step that reads it; views share the fate of
  // the value they alias (their root).
  const size_t nv = graph_.values().size();
  std::vector<ValueId> root(nv);
  for (size_t v = 0; v < nv; ++v) root[v] = static_cast<ValueId>(v);
  std::vector<int> last_use(nv, -1);
  for (size_t s = 0; s < runtime_nodes.size(); ++s) {
    const Node& n = graph_.node(runtime_nodes[s]);
    for (ValueId in : n.inputs) {
      if (in != kNoValue) last_use[in] = static_cast<int>(s);
    }
    if (may_alias(n.op) && !n.inputs.empty() && n.inputs[0] != kNoValue) {
      for (ValueId out : n.outputs) root[out] = root[n.inputs[0]];
    }
  }
  std::vector<bool> pinned(nv, false);  // never freed or overwritten
  for (ValueId o : graph_.outputs()) pinned[o] = true;
  for (ValueId in : graph_.inputs()) pinned[in] = true;
  for (size_t v = 0; v < nv; ++v) pinned[v] = pinned[v] || is_const[v];
  std::vector<int> root_last_use(nv, -1);
  std::vector<bool> root_pinned(nv, false);
  for (size_t v = 0; v < nv; ++v) {
    root_last_use[root[v]] = std::max(root_last_use[root[v]], last_use[v]);
    if (pinned[v]) root_pinned[root[v]] = true;
  }

  for (size_t s = 0; s < runtime_nodes.size(); ++s) {
    const Node& n = graph_.node(runtime_nodes[s]);
    Plan::Step step{n.id,
                    prepare_node(graph_, n, plan->info, options_.training),
                    0,
                    {},
                    node_flops(graph_, n, plan->info),
                    prepare_region(graph_, n, plan->info, options_.training)};
    plan->forward_flops += step.flops;
    for (size_t i = 0; i < n.inputs.size() && i < 64; ++i) {
      ValueId v = n.inputs[i];
      if (v == kNoValue || pinned[v] || root_pinned[root[v]]) continue;
      int reads = 0;
      for (ValueId w : n.inputs) reads += w == v ? 1 : 0;
      if (reads == 1 && last_use[v] == static_cast<int>(s) &&
          root_last_use[root[v]] == static_cast<int>(s)) {
        step.overwritable |= uint64_t{1} << i;
      }
    }
    for (ValueId v : n.inputs) {
      if (v != kNoValue && !pinned[v] && last_use[v] == static_cast<int>(s) &&
          std::find(step.free_after.begin(), step.free_after.end(), v) == step.free_after.end()) {
        step.free_after.push_back(v);
      }
    }
    plan->steps.push_back(std::move(step));
  }
  return *plans_.emplace(key, std::move(plan)).first->second;
}

void Executor::execute(const Plan& plan, std::vector<at::Tensor>& values, bool keep_all,
                       int64_t first_sample) const {
  std::vector<at::Tensor> ins, outs;
  for (const auto& step : plan.steps) {
    const Node& n = graph_.node(step.node);
    uint64_t overwritable = keep_all || !options_.in_place ? 0 : step.overwritable;
    ins.assign(n.inputs.size(), at::Tensor());
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      ValueId v = n.inputs[i];
      if (v == kNoValue) continue;
      // Moving the only reference out lets an in-place kernel own the buffer.
      ins[i] = ((overwritable >> i) & 1U) ? std::move(values[v]) : values[v];
    }
    outs.assign(n.outputs.size(), at::Tensor());
    KernelArgs args{ins, outs, overwritable, first_sample};
    call_kernel(graph_, n, step.kernel, args);
    for (size_t i = 0; i < outs.size(); ++i) values[n.outputs[i]] = std::move(outs[i]);
    if (!keep_all) {
      for (ValueId v : step.free_after) values[v].reset();
    }
  }
}

std::vector<at::Tensor> Executor::run(const std::vector<at::Tensor>& inputs, int64_t first_sample) {
  Plan& plan = plan_for(inputs);
  std::vector<at::Tensor> values = plan.constants;
  auto runtime = graph_.runtime_inputs();
  for (size_t i = 0; i < inputs.size(); ++i) values[runtime[i]] = inputs[i];
  execute(plan, values, /*keep_all=*/false, first_sample);
  std::vector<at::Tensor> out;
  for (ValueId o : graph_.outputs()) out.push_back(values[o]);
  return out;
}

GoldenCache Executor::run_cached(const std::vector<at::Tensor>& inputs, int64_t first_sample) {
  Plan& plan = plan_for(inputs);
  GoldenCache cache;
  cache.graph_ = &graph_;
  cache.plan_ = &plan;
  cache.first_sample_ = first_sample;
  cache.values_ = plan.constants;
  auto runtime = graph_.runtime_inputs();
  for (size_t i = 0; i < inputs.size(); ++i) cache.values_[runtime[i]] = inputs[i];
  execute(plan, cache.values_, /*keep_all=*/true, first_sample);
  return cache;
}

namespace {
bool all_finite(const at::Tensor& t) {
  return !t.is_floating_point() || t.numel() == 0 || t.isfinite().all().item<bool>();
}
}  // namespace

namespace {
// A window larger than this share of the output is recomputed whole.
constexpr double kMaxWindowShare = 0.5;

// Element-wise "the stored bits differ" (so -0 vs 0 and NaN payloads count as changes).
at::Tensor bits_differ(const at::Tensor& a, const at::Tensor& b) {
  at::Tensor ca = a.contiguous(), cb = b.contiguous();
  if (ca.scalar_type() == at::kFloat) return ca.view(at::kInt).ne(cb.view(at::kInt));
  if (ca.scalar_type() == at::kDouble) return ca.view(at::kLong).ne(cb.view(at::kLong));
  return ca.ne(cb);
}

// The smallest box holding every true element of `mask`, or nullopt when none is.
std::optional<Box> box_of(const at::Tensor& mask) {
  if (!mask.any().item<bool>()) return std::nullopt;
  Box b;
  for (int64_t d = 0; d < mask.dim(); ++d) {
    at::Tensor along = mask.movedim(d, 0).reshape({mask.size(d), -1}).any(1).nonzero().view(-1);
    b.lo.push_back(along[0].item<int64_t>());
    b.hi.push_back(along[-1].item<int64_t>() + 1);
  }
  return b;
}

// The box of the elements of `value` whose bits differ from `golden`; nullopt: none. One
// pass over both, row by row (rows of the last dim): no temporaries on this hot path.
std::optional<Box> changed_box_of(const at::Tensor& value, const at::Tensor& golden) {
  if (value.scalar_type() != golden.scalar_type() || !value.sizes().equals(golden.sizes()))
    return Box::whole(value.sizes());
  if (value.scalar_type() != at::kFloat || value.dim() == 0)
    return box_of(bits_differ(value, golden));
  at::Tensor a = value.contiguous(), b = golden.contiguous();
  const auto* pa = static_cast<const int32_t*>(a.data_ptr());
  const auto* pb = static_cast<const int32_t*>(b.data_ptr());
  const int64_t rank = a.dim(), cols = a.size(rank - 1);
  if (cols == 0) return std::nullopt;
  const int64_t rows = a.numel() / cols;
  Box box;
  box.lo.assign(static_cast<size_t>(rank), std::numeric_limits<int64_t>::max());
  box.hi.assign(static_cast<size_t>(rank), 0);
  std::vector<int64_t> at_row(static_cast<size_t>(rank - 1), 0);  // the row's coordinates
  bool any = false;
  for (int64_t row = 0; row < rows; ++row) {
    const int32_t* x = pa + row * cols;
    const int32_t* y = pb + row * cols;
    int64_t first = 0;
    while (first < cols && x[first] == y[first]) ++first;
    if (first < cols) {
      int64_t last = cols - 1;
      while (x[last] == y[last]) --last;
      any = true;
      box.lo.back() = std::min(box.lo.back(), first);
      box.hi.back() = std::max(box.hi.back(), last + 1);
      for (size_t d = 0; d < at_row.size(); ++d) {
        box.lo[d] = std::min(box.lo[d], at_row[d]);
        box.hi[d] = std::max(box.hi[d], at_row[d] + 1);
      }
    }
    for (int64_t d = rank - 2; d >= 0; --d) {  // next row: an odometer over the outer dims
      if (++at_row[static_cast<size_t>(d)] < a.size(d)) break;
      at_row[static_cast<size_t>(d)] = 0;
    }
  }
  if (!any) return std::nullopt;
  return box;
}
}  // namespace

RerunResult Executor::propagate_cone(const GoldenCache& cache, std::vector<at::Tensor>& values,
                                     std::vector<std::optional<Box>>& boxes, const Override* edge,
                                     const std::optional<Box>& edge_box,
                                     bool track_non_finite) const {
  FG_CHECK(cache.graph_ == &graph_ && cache.plan_ != nullptr, UsageError,
           "rerun: the cache was made by another executor");
  const Plan& plan = *static_cast<const Plan*>(cache.plan_);
  RerunResult r;
  // A windowed output is kept as a patch over the golden value (values[v] stays golden):
  // only a consumer that needs the whole tensor makes it whole.
  struct Patch {
    std::optional<Box> box;
    at::Tensor data;
  };
  std::vector<Patch> patches(values.size());
  auto materialize = [&](ValueId v) {
    if (!patches[v].box) return;
    at::Tensor whole = cache.values_[v].clone();
    patches[v].box->of(whole).copy_(patches[v].data);
    values[v] = std::move(whole);
    patches[v] = Patch{};
  };
  std::vector<at::Tensor> ins, outs;
  std::vector<WindowInput> window_ins;
  auto run_step = [&](const Plan::Step& step) {
    const Node& n = graph_.node(step.node);
    bool edge_here = edge && edge->node == n.id;
    bool touched = edge_here;
    for (ValueId v : n.inputs) touched = touched || (v != kNoValue && boxes[v]);
    if (!touched) return;
    ++r.nodes_recomputed;
    auto note_non_finite = [&](const at::Tensor& t, ValueId v) {
      if (track_non_finite && r.first_non_finite == kNoNode && !all_finite(t) &&
          all_finite(cache.values_[v]))
        r.first_non_finite = n.id;
    };
    // The output box the changed input boxes can reach; nullopt: the whole output.
    std::optional<Box> reach;
    bool whole = !step.region || n.outputs.size() != 1;
    for (size_t i = 0; i < n.inputs.size() && !whole; ++i) {
      std::optional<Box> b;
      if (edge_here && static_cast<int>(i) == edge->index) {
        b = edge_box;
      } else if (n.inputs[i] != kNoValue) {
        b = boxes[n.inputs[i]];
      }
      if (!b) continue;
      std::optional<Box> o = step.region->reach(i, *b);
      if (!o) {
        whole = true;
      } else if (reach) {
        reach->unite(*o);
      } else {
        reach = o;
      }
    }
    const at::Tensor& golden_out = cache.values_[n.outputs[0]];
    double share = reach ? static_cast<double>(reach->volume()) /
                               static_cast<double>(std::max<int64_t>(1, golden_out.numel()))
                         : 1.0;
    // Most of the output: the full kernel costs no more than a window and its bookkeeping.
    if (!whole && reach && share <= kMaxWindowShare) {
      ValueId v = n.outputs[0];
      if (reach->volume() == 0) {
        ++r.nodes_masked;
        return;
      }
      window_ins.assign(n.inputs.size(), WindowInput{});
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        ValueId in = n.inputs[i];
        if (in == kNoValue) continue;
        window_ins[i] = {values[in], patches[in].box, patches[in].data};
      }
      if (edge_here) window_ins[static_cast<size_t>(edge->index)] = {edge->value, {}, {}};
      at::Tensor faulty = step.region->compute(window_ins, *reach);
      at::Tensor gold = reach->of(golden_out);
      r.flops += step.flops * share;
      // An inexact window (another summation order) is compared with the same window over
      // the golden inputs, so that rounding is never taken for a change.
      at::Tensor reference = gold;
      if (!step.region->exact) {
        std::vector<WindowInput> golden_ins(n.inputs.size());
        for (size_t i = 0; i < n.inputs.size(); ++i) {
          if (n.inputs[i] != kNoValue) golden_ins[i].base = cache.values_[n.inputs[i]];
        }
        reference = step.region->compute(golden_ins, *reach);
        r.flops += step.flops * share;
      }
      std::optional<Box> tight = changed_box_of(faulty, reference);
      if (!tight) {
        ++r.nodes_masked;
        return;
      }
      // Where the window over the golden inputs gives the same bits, the golden value is
      // kept: exactly what a full recompute gives there.
      at::Tensor merged =
          step.region->exact ? faulty : at::where(bits_differ(faulty, reference), faulty, gold);
      note_non_finite(merged, v);
      Patch p;
      p.data = tight->of(merged);  // the tight box, relative to the window
      for (size_t d = 0; d < tight->lo.size(); ++d) {
        tight->lo[d] += reach->lo[d];
        tight->hi[d] += reach->lo[d];
      }
      p.box = tight;
      patches[v] = std::move(p);
      boxes[v] = tight;
      return;
    }
    ins.assign(n.inputs.size(), at::Tensor());
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      ValueId in = n.inputs[i];
      if (in == kNoValue) continue;
      materialize(in);
      ins[i] = values[in];
    }
    if (edge_here) ins[static_cast<size_t>(edge->index)] = edge->value;
    outs.assign(n.outputs.size(), at::Tensor());
    KernelArgs args{ins, outs, 0, cache.first_sample_};
    call_kernel(graph_, n, step.kernel, args);
    r.flops += step.flops;
    bool any_changed = false;
    for (size_t i = 0; i < outs.size(); ++i) {
      ValueId v = n.outputs[i];
      if (boxes[v]) continue;  // a value replaced by the caller stays as given
      std::optional<Box> b = changed_box_of(outs[i], cache.values_[v]);
      if (!b) continue;
      note_non_finite(outs[i], v);
      values[v] = std::move(outs[i]);
      boxes[v] = b;
      any_changed = true;
    }
    if (!any_changed) ++r.nodes_masked;
  };
  for (const auto& step : plan.folded) run_step(step);
  for (const auto& step : plan.steps) run_step(step);
  r.masked = true;
  for (ValueId o : graph_.outputs()) {
    materialize(o);
    r.outputs.push_back(values[o]);
    r.masked = r.masked && !boxes[o];
  }
  return r;
}

RerunResult Executor::propagate(const GoldenCache& cache, std::vector<at::Tensor>& values,
                                std::vector<bool>& dirty, const Override* edge, bool full,
                                bool track_non_finite) const {
  FG_CHECK(cache.graph_ == &graph_ && cache.plan_ != nullptr, UsageError,
           "rerun: the cache was made by another executor");
  const Plan& plan = *static_cast<const Plan*>(cache.plan_);
  RerunResult r;
  std::vector<at::Tensor> ins, outs;
  auto run_step = [&](const Plan::Step& step, bool force) {
    const Node& n = graph_.node(step.node);
    bool touched = force || (edge && edge->node == n.id);
    for (ValueId v : n.inputs) touched = touched || (v != kNoValue && dirty[v]);
    if (!touched) return;
    ins.assign(n.inputs.size(), at::Tensor());
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (n.inputs[i] != kNoValue) ins[i] = values[n.inputs[i]];
    }
    if (edge && edge->node == n.id) ins[static_cast<size_t>(edge->index)] = edge->value;
    outs.assign(n.outputs.size(), at::Tensor());
    KernelArgs args{ins, outs, 0, cache.first_sample_};
    call_kernel(graph_, n, step.kernel, args);
    ++r.nodes_recomputed;
    r.flops += step.flops;
    bool any_changed = false;
    for (size_t i = 0; i < outs.size(); ++i) {
      ValueId v = n.outputs[i];
      if (dirty[v]) continue;  // a value replaced by the caller stays as given
      if (bitwise_equal(outs[i], cache.values_[v])) continue;
      if (track_non_finite && r.first_non_finite == kNoNode && !all_finite(outs[i]) &&
          all_finite(cache.values_[v]))
        r.first_non_finite = n.id;
      values[v] = std::move(outs[i]);
      dirty[v] = true;
      any_changed = true;
    }
    if (!any_changed) ++r.nodes_masked;
  };
  // Folded nodes depend on constants only, so they all come before the runtime steps.
  for (const auto& step : plan.folded) run_step(step, false);
  for (const auto& step : plan.steps) run_step(step, full);
  r.masked = true;
  for (ValueId o : graph_.outputs()) {
    r.outputs.push_back(values[o]);
    r.masked = r.masked && !dirty[o];
  }
  return r;
}

std::vector<at::Tensor> Executor::rerun(const GoldenCache& cache,
                                        const std::vector<std::pair<ValueId, at::Tensor>>& changed,
                                        RerunStats* stats) const {
  std::vector<at::Tensor> values = cache.values_;
  std::vector<bool> dirty(values.size(), false);
  for (const auto& [id, t] : changed) {
    FG_CHECK(id >= 0 && static_cast<size_t>(id) < values.size(), UsageError, "rerun: value id ", id,
             " out of range");
    values[id] = t;
    dirty[id] = true;
  }
  RerunResult r = propagate(cache, values, dirty, nullptr, false, true);
  if (stats) *stats = {r.nodes_recomputed, r.nodes_masked};
  return r.outputs;
}

RerunResult Executor::rerun(const GoldenCache& cache, const ValueFault& fault,
                            Recompute mode) const {
  FG_CHECK(fault.value >= 0 && static_cast<size_t>(fault.value) < cache.values_.size(), UsageError,
           "rerun: value id ", fault.value, " out of range");
  const at::Tensor& golden = cache.values_[fault.value];
  FG_CHECK(golden.defined(), UsageError, "rerun: value '", graph_.value(fault.value).name,
           "' is not computed at these inputs");
  FaultSpec spec = fault.spec;
  bool listed = !fault.elements.empty();
  if (listed) {
    spec.selection = Selection::kCoordinates;
    spec.coordinates = fault.elements;
    spec.random_bit = spec.random_bit && spec.bits.empty();
  }
  FaultResult applied =
      apply_fault(golden, spec, listed ? false : fault.batched, listed ? 0 : fault.first_sample);
  at::Tensor flat_golden = golden.contiguous().view(-1), flat_faulty = applied.output.view(-1);

  std::unique_ptr<Override> edge;
  bool changed = !bitwise_equal(applied.output, golden);
  if (fault.consumer != kNoNode) {
    const Node& n = graph_.node(fault.consumer);
    FG_CHECK(fault.input_index >= 0 && static_cast<size_t>(fault.input_index) < n.inputs.size() &&
                 n.inputs[fault.input_index] == fault.value,
             UsageError, "rerun: value '", graph_.value(fault.value).name, "' is not input ",
             fault.input_index, " of node '", n.name, "'");
    if (changed)
      edge = std::make_unique<Override>(Override{n.id, fault.input_index, applied.output});
  }
  std::optional<Box> changed_box;
  if (mode == Recompute::kCone && changed) changed_box = changed_box_of(applied.output, golden);
  auto run = [&](bool track_non_finite) {
    std::vector<at::Tensor> values = cache.values_;
    if (mode == Recompute::kCone) {
      std::vector<std::optional<Box>> boxes(values.size());
      if (fault.consumer == kNoNode && changed) {
        values[fault.value] = applied.output;
        boxes[fault.value] = changed_box;
      }
      return propagate_cone(cache, values, boxes, edge.get(), changed_box, track_non_finite);
    }
    std::vector<bool> dirty(values.size(), false);
    if (fault.consumer == kNoNode && changed) {
      values[fault.value] = applied.output;
      dirty[fault.value] = true;
    }
    return propagate(cache, values, dirty, edge.get(), mode == Recompute::kFull, track_non_finite);
  };
  // Finding the first non-finite node costs a pass over every recomputed value; only a
  // trial whose outputs end non-finite needs it, so that rare trial runs again with it.
  RerunResult r = run(false);
  bool outputs_non_finite = false;
  for (size_t i = 0; i < r.outputs.size(); ++i) {
    outputs_non_finite = outputs_non_finite || (!all_finite(r.outputs[i]) &&
                                                all_finite(cache.values_[graph_.outputs()[i]]));
  }
  if (outputs_non_finite) r = run(true);
  r.fault_non_finite = !all_finite(applied.output) && all_finite(golden);
  r.faulty_value = applied.output;
  for (int64_t e : fault.elements) {
    r.golden_values.push_back(flat_golden[e].item<double>());
    r.faulty_values.push_back(flat_faulty[e].item<double>());
  }
  return r;
}

double GoldenCache::forward_flops() const {
  return plan_ ? static_cast<const Executor::Plan*>(plan_)->forward_flops : 0.0;
}

const at::Tensor& GoldenCache::at(const std::string& name) const {
  FG_ASSERT(graph_ != nullptr, "empty golden cache");
  if (auto n = graph_->find_node(name)) return values_[graph_->node(*n).outputs.at(0)];
  if (auto v = graph_->find_value(name)) return values_[*v];
  graph_->node_named(name);  // throws with suggestions
  FG_FAIL(UsageError, "no node or value named '", name, "'");
}

std::vector<at::Tensor> GoldenCache::outputs() const {
  std::vector<at::Tensor> out;
  for (ValueId o : graph_->outputs()) out.push_back(values_[o]);
  return out;
}

bool bitwise_equal(const at::Tensor& a, const at::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || !a.sizes().equals(b.sizes())) return false;
  if (a.is_same(b)) return true;
  at::Tensor ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.data_ptr(), cb.data_ptr(), ca.nbytes()) == 0;
}

}  // namespace fg
