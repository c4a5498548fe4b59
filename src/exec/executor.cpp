#include "faultgraph/exec/executor.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <atomic>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <unordered_set>

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
    // Batched fault variants: the inputs indexed by sample (ops/per_sample_inputs).
    std::optional<uint64_t> sample_inputs;
    // Fused in a faulty rerun (Slot::fuse): the steps (indices into `steps`) that read this
    // step's output and only it, one after another, each a per-element op whose output is
    // read by the next alone (Conv -> BatchNormalization -> Relu or Clip; Add -> Relu).
    std::vector<size_t> chain;
  };
  std::vector<TensorInfo> info;
  // Nodes computed from constants only, evaluated once while planning (topological order).
  // A rerun whose change reaches them runs them again, before `steps`.
  std::vector<Step> folded;
  std::vector<Step> steps;            // nodes that depend on the runtime inputs
  std::vector<at::Tensor> constants;  // values known before running (by ValueId)
  double forward_flops = 0;           // of `steps`
  // By step: a batch of variants gave its golden slot other bits than the golden run, so
  // the step's kernel sums in another order at other batch sizes; it runs unbatched since.
  // Set by const reruns on any thread, hence atomic.
  std::unique_ptr<std::atomic<bool>[]> batch_inexact;
  // By step: bit m set when a batch of m samples (golden slot included) gave the golden
  // slot the golden run's bits. A kernel's summation order depends on shapes, not data, so
  // a later batch of m variants runs without a golden slot. Atomic as batch_inexact.
  std::unique_ptr<std::atomic<uint64_t>[]> batch_exact_sizes;
  // Nodes with inexact regions whose windows were not all shown exact: whether windows of
  // one computed shape (Region::computed_shape) give the whole kernel's bits, found on the
  // first window of that shape over the golden inputs. Looked up by const reruns on any
  // thread; a kernel's summation order depends on shapes, not data, so whichever trial
  // finds a verdict, it is the same.
  mutable std::mutex verdict_mutex;
  mutable std::map<std::pair<NodeId, std::vector<int64_t>>, bool> window_verdicts;
  // Nodes with inexact regions: whether windows of many shapes all gave the whole output's
  // bits (Executor::windows_match), found when the node is first to be windowed; such a
  // node's windows are trusted at every shape. Under verdict_mutex.
  mutable std::map<NodeId, bool> layer_verdicts;
};

// An input edge's corrupted value: only `node`'s input `index` sees it.
struct Executor::Override {
  NodeId node;
  int index;
  at::Tensor value;
};

// A fault applied to its golden value: what each recompute mode starts from.
struct Executor::FaultStart {
  at::Tensor golden;  // the golden value (contiguous)
  bool changed = false;
  std::unique_ptr<Override> edge;  // an input-edge fault: where the copy enters
  std::optional<Box> box;          // the elements that differ from the golden value
  at::Tensor positions;            // their flat indices (int64), when changed
  at::Tensor values;               // their corrupted values
  std::vector<int64_t> coords;     // their coordinates, rank per element
  at::Tensor whole;                // the corrupted copy of the whole value, once made

  // The corrupted copy of the value. A cone trial never needs it: a fault in one element
  // of a large activation copied all of it (5% of a MobileNetV2 campaign).
  const at::Tensor& applied() {
    if (!whole.defined()) {
      whole = golden.clone();
      if (changed) whole.view(-1).index_copy_(0, positions, values);
    }
    return whole;
  }
  // The box of the changed elements, corrupted, as a patch over the golden value.
  at::Tensor patch() const {
    at::Tensor data = box->of(golden).clone(at::MemoryFormat::Contiguous);
    const auto rank = static_cast<size_t>(golden.dim());
    const auto size = static_cast<size_t>(golden.element_size());
    auto* out = static_cast<char*>(data.data_ptr());
    const auto* v = static_cast<const char*>(values.data_ptr());  // contiguous (index_select)
    for (int64_t k = 0; k < positions.numel(); ++k) {
      int64_t offset = 0;
      for (size_t d = 0; d < rank; ++d)
        offset += (coords[static_cast<size_t>(k) * rank + d] - box->lo[d]) *
                  data.stride(static_cast<int64_t>(d));
      std::memcpy(out + offset * static_cast<int64_t>(size), v + k * static_cast<int64_t>(size),
                  size);
    }
    return data;
  }
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

std::optional<uint64_t> prepare_sample_inputs(const Graph& g, const Node& n,
                                              const std::vector<TensorInfo>& info, bool training) {
  std::vector<TensorInfo> ins(n.inputs.size());
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    if (n.inputs[i] != kNoValue) ins[i] = info[n.inputs[i]];
  }
  return per_sample_inputs(OpContext{n, ins, g.opset, training});
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
                      node_flops(graph_, n, plan->info),
                      std::nullopt,
                      std::nullopt,
                      {}};
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
                    prepare_region(graph_, n, plan->info, options_.training),
                    prepare_sample_inputs(graph_, n, plan->info, options_.training),
                    {}};
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
  // Chains: from each step, the per-element steps after it that nothing else reads from.
  {
    const std::vector<std::vector<NodeId>> consumers = graph_.consumers();
    std::vector<int64_t> step_of(graph_.nodes().size(), -1);
    for (size_t s = 0; s < plan->steps.size(); ++s)
      step_of[static_cast<size_t>(plan->steps[s].node)] = static_cast<int64_t>(s);
    for (Plan::Step& step : plan->steps) {
      for (const Node* n = &graph_.node(step.node); n->outputs.size() == 1;) {
        const ValueId v = n->outputs[0];
        if (pinned[v] || consumers[v].size() != 1) break;
        const Node& c = graph_.node(consumers[v][0]);
        const int64_t cs = step_of[static_cast<size_t>(c.id)];
        if (cs < 0 || c.outputs.size() != 1 || c.inputs.empty() || c.inputs[0] != v) break;
        if (c.op != OpKind::kBatchNormalization && c.op != OpKind::kRelu && c.op != OpKind::kClip)
          break;
        const Plan::Step& next = plan->steps[static_cast<size_t>(cs)];
        const TensorInfo &in = plan->info[v], &out = plan->info[c.outputs[0]];
        if (!next.region || !next.region->exact || !in.shape_known() || out.shape != in.shape ||
            out.dtype != in.dtype)
          break;
        step.chain.push_back(static_cast<size_t>(cs));
        n = &c;
      }
    }
  }
  plan->batch_inexact = std::make_unique<std::atomic<bool>[]>(plan->steps.size());
  plan->batch_exact_sizes = std::make_unique<std::atomic<uint64_t>[]>(plan->steps.size());
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

// A kernel's summation order depends on its shapes, not on the data: a node whose windows
// of many shapes (small ones at the borders and inside, bands, most of the output) give the
// bits of its whole golden output is taken to sum every window as the whole layer did.
bool Executor::windows_match(NodeId node, const Region& region,
                             const std::vector<at::Tensor>& values) const {
  const Node& n = graph_.node(node);
  const at::Tensor& out = values[n.outputs[0]];
  if (n.outputs.size() != 1 || !out.defined() || out.dim() < 2 || out.numel() == 0) return false;
  std::vector<WindowInput> ins(n.inputs.size());
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    if (n.inputs[i] != kNoValue) ins[i].base = values[n.inputs[i]];
  }
  std::mt19937_64 rng(static_cast<uint64_t>(node));
  auto below = [&rng](int64_t n) { return static_cast<int64_t>(rng() % static_cast<uint64_t>(n)); };
  for (int k = 0; k < 16; ++k) {
    Box b = Box::whole(out.sizes());
    for (int64_t d = 1; d < out.dim(); ++d) {
      const int64_t size = out.size(d);
      const int64_t len = k < 8 ? 1 + below(std::min<int64_t>(size, 4)) : 1 + below(size);
      const int64_t lo = k % 4 == 0 ? 0 : k % 4 == 1 ? size - len : below(size - len + 1);
      b.lo[static_cast<size_t>(d)] = lo;
      b.hi[static_cast<size_t>(d)] = lo + len;
    }
    if (!bitwise_equal(region.compute(ins, b).contiguous(), b.of(out).contiguous())) return false;
  }
  return true;
}

namespace {
bool all_finite(const at::Tensor& t) {
  return !t.is_floating_point() || t.numel() == 0 || t.isfinite().all().item<bool>();
}
}  // namespace

namespace {
// A window larger than this share of the output is recomputed whole.
constexpr double kMaxWindowShare = 0.5;
// The same for a region whose windows are exact by construction (no rounded sizes, no
// checks, the whole layer's kernel: faultgraph's 1x1 and im2col convolutions, pools, Pad,
// Concat, element-wise ops), where a window costs its share of the whole layer and little
// more. Measured, 1
// thread, campaigns of the bench's models (1,000, 300 and 600 trials), alternating against
// 0.5: ResNet-50 86-89 -> 93-101 trials/s (FLOPs per trial 15.2% -> 12.7% of a forward),
// MobileNetV2 379-460 -> 453-458 (16.7% -> 14.5%), InceptionV3 54-73 -> 57-65 (16.2% ->
// 15.9%, within this machine's noise).
constexpr double kMaxExactWindowShare = 0.9;
// The work, in FLOPs, that a node computed whole spends per output element beyond its FLOPs
// (copying its input whole, allocating and passing over its output): chosen by measurement
// (MobileNetV2 campaigns: 16 to 128 the same within noise; ResNet-20, whose tensors are
// tiny, slowed as it grew: 2038 trials/s at 16, 1974 at 32, 1759 at 128).
constexpr double kElementWork = 32;
// Output heights where oneDNN 2.x's 1x1 convolution kernel changes how it blocks its sums
// (jit_avx512_common_1x1 init_conf: SMALL_SPATIAL 10, BIG_SPATIAL 28); windows of other
// heights are tried raised to them. Only an optimisation: every window shape is checked.
// (1x1 layers of group 1 without padding run faultgraph's exact kernel now; this serves
// the convolutions oneDNN still computes.)
constexpr std::array<int64_t, 2> kBlockingHeights{11, 28};

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

// The box of the elements of `value` whose bits differ from `golden` (same shape, any
// strides), looking only inside `within` (absolute coordinates; nullptr: everywhere);
// nullopt: none differs. `tight` false: the first difference found ends the scan and
// `within` (or the whole) is returned, for callers that only need "changed" and a box
// holding the change. float32: one pass over the box, no temporaries, no copies of a view
// (the hot path of cone recompute).
std::optional<Box> changed_box_of(const at::Tensor& value, const at::Tensor& golden,
                                  const Box* within = nullptr, bool tight = true) {
  if (value.scalar_type() != golden.scalar_type() || !value.sizes().equals(golden.sizes()))
    return Box::whole(value.sizes());
  const Box all = within ? *within : Box::whole(value.sizes());
  if (all.volume() == 0) return std::nullopt;
  constexpr size_t kMaxRank = 16;
  if (value.scalar_type() != at::kFloat || value.dim() == 0 ||
      static_cast<size_t>(value.dim()) > kMaxRank) {
    std::optional<Box> b = box_of(bits_differ(all.of(value), all.of(golden)));
    if (!b) return std::nullopt;
    if (!tight) return all;
    for (size_t d = 0; d < b->lo.size(); ++d) {
      b->lo[d] += all.lo[d];
      b->hi[d] += all.lo[d];
    }
    return b;
  }
  const auto rank = static_cast<size_t>(value.dim());
  std::array<int64_t, kMaxRank> sa{}, sg{};
  for (size_t d = 0; d < rank; ++d) {
    sa[d] = value.stride(static_cast<int64_t>(d));
    sg[d] = golden.stride(static_cast<int64_t>(d));
  }
  const auto* pa = static_cast<const int32_t*>(value.data_ptr());
  const auto* pg = static_cast<const int32_t*>(golden.data_ptr());
  for (size_t d = 0; d < rank; ++d) {
    pa += all.lo[d] * sa[d];
    pg += all.lo[d] * sg[d];
  }
  const size_t last = rank - 1;
  const int64_t cols = all.hi[last] - all.lo[last];
  const bool rows_contiguous = sa[last] == 1 && sg[last] == 1;
  Box box;
  box.lo.assign(rank, std::numeric_limits<int64_t>::max());
  box.hi.assign(rank, std::numeric_limits<int64_t>::min());
  std::array<int64_t, kMaxRank> at{};  // the row's coordinates, relative to `all`
  bool any = false;
  for (bool done = false; !done;) {
    const int32_t* x = pa;
    const int32_t* y = pg;
    for (size_t d = 0; d < last; ++d) {
      x += at[d] * sa[d];
      y += at[d] * sg[d];
    }
    int64_t first = cols, final = -1;
    if (rows_contiguous) {
      if (std::memcmp(x, y, static_cast<size_t>(cols) * sizeof(int32_t)) != 0) {
        first = 0;
        while (x[first] == y[first]) ++first;
        final = cols - 1;
        while (x[final] == y[final]) --final;
      }
    } else {
      for (int64_t c = 0; c < cols; ++c) {
        if (x[c * sa[last]] != y[c * sg[last]]) {
          first = std::min(first, c);
          final = c;
        }
      }
    }
    if (final >= 0) {
      if (!tight) return all;
      any = true;
      box.lo[last] = std::min(box.lo[last], first);
      box.hi[last] = std::max(box.hi[last], final + 1);
      for (size_t d = 0; d < last; ++d) {
        box.lo[d] = std::min(box.lo[d], at[d]);
        box.hi[d] = std::max(box.hi[d], at[d] + 1);
      }
    }
    for (size_t d = last;;) {  // next row: an odometer over the outer dims of the box
      if (d == 0) {
        done = true;
        break;
      }
      --d;
      if (++at[d] < all.hi[d] - all.lo[d]) break;
      at[d] = 0;
    }
  }
  if (!any) return std::nullopt;
  for (size_t d = 0; d < rank; ++d) {
    box.lo[d] += all.lo[d];
    box.hi[d] += all.lo[d];
  }
  return box;
}
}  // namespace

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

// One faulty rerun in progress (kDownstream or kCone): the values that differ from the golden
// ones, each with the box holding its changed elements; in kCone, a windowed output is kept
// as a patch over the golden value (values[v] stays golden) until a consumer needs it whole.
struct Executor::Slot {
  struct Patch {
    std::optional<Box> box;
    at::Tensor data;
  };
  const Executor& ex;
  const GoldenCache& cache;
  bool windows;  // kCone: windowed recompute where the op declares a Region
  bool track_non_finite;
  std::vector<at::Tensor> values;
  std::vector<std::optional<Box>> boxes;  // set: the value differs from the golden one
  std::vector<Patch> patches;
  const Override* edge = nullptr;
  std::optional<Box> edge_box;
  RerunResult r;

  Slot(const Executor& e, const GoldenCache& c, bool windowed, bool track)
      : ex(e),
        cache(c),
        windows(windowed),
        track_non_finite(track),
        values(c.values_),
        boxes(values.size()),
        patches(values.size()) {}

  bool edge_at(const Node& n, size_t i) const {
    return edge && edge->node == n.id && static_cast<int>(i) == edge->index;
  }
  bool input_changed(const Node& n, size_t i) const {
    return edge_at(n, i) || (n.inputs[i] != kNoValue && boxes[n.inputs[i]]);
  }
  // A changed input reaches this node: it is recomputed (counted here).
  bool touches(const Node& n) {
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (input_changed(n, i)) {
        ++r.nodes_recomputed;
        return true;
      }
    }
    return false;
  }
  void materialize(ValueId v) {
    if (!patches[v].box) return;
    at::Tensor whole = cache.values_[v].clone();
    copy_into(patches[v].box->of(whole), patches[v].data);
    values[v] = std::move(whole);
    patches[v] = Patch{};
  }
  // Input i of `n` as a whole tensor: the edge's corrupted value where it enters.
  at::Tensor input(const Node& n, size_t i) {
    if (edge_at(n, i)) return edge->value;
    if (n.inputs[i] == kNoValue) return {};
    materialize(n.inputs[i]);
    return values[n.inputs[i]];
  }
  void note_non_finite(const Node& n, const at::Tensor& t, ValueId v) {
    if (track_non_finite && r.first_non_finite == kNoNode && !all_finite(t) &&
        all_finite(cache.values_[v]))
      r.first_non_finite = n.id;
  }

  // kCone: the box of the (single) output that the changed inputs can reach, by the op's
  // Region; nullopt: the whole output (no Region, or an input whose change reaches it all).
  std::optional<Box> reach_of(const Plan::Step& step) const {
    const Node& n = ex.graph_.node(step.node);
    if (!windows || !step.region || n.outputs.size() != 1) return std::nullopt;
    std::optional<Box> reach;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      std::optional<Box> b = edge_at(n, i)             ? edge_box
                             : n.inputs[i] != kNoValue ? boxes[n.inputs[i]]
                                                       : std::nullopt;
      if (!b) continue;
      std::optional<Box> o = step.region->reach(i, *b);
      if (!o) return std::nullopt;
      if (reach) {
        reach->unite(*o);
      } else {
        reach = o;
      }
    }
    return reach;
  }
  double share_of(const Box& b, ValueId v) const {
    return static_cast<double>(b.volume()) /
           static_cast<double>(std::max<int64_t>(1, cache.values_[v].numel()));
  }

  // Whether every window of `step` gives the whole kernel's bits: an exact region, or one
  // whose windows of many shapes matched the golden output, checked on the node's first
  // window (the plan's first golden run used to check every node, a tenth of a short
  // MobileNetV2 campaign; downstream and full recompute never window).
  bool layer_exact(const Plan::Step& step) const {
    if (step.region->exact) return true;
    const Plan& plan = *static_cast<const Plan*>(cache.plan_);
    {
      std::lock_guard<std::mutex> lock(plan.verdict_mutex);
      auto it = plan.layer_verdicts.find(step.node);
      if (it != plan.layer_verdicts.end()) return it->second;
    }
    // Checked outside the lock, so that other trial threads keep looking verdicts up (two
    // threads may check one node at once; they find the same).
    const bool exact = ex.windows_match(step.node, *step.region, cache.values_);
    std::lock_guard<std::mutex> lock(plan.verdict_mutex);
    plan.layer_verdicts.emplace(step.node, exact);
    return exact;
  }

  // Whether windows of `want`'s computed shape give the whole kernel's bits on `step`: on
  // the first window of that shape, its golden window is computed and compared with the
  // golden output (Plan::window_verdicts).
  bool shape_exact(const Plan::Step& step, const Box& want) const {
    if (!step.region->computed_shape) return false;
    const Plan& plan = *static_cast<const Plan*>(cache.plan_);
    std::pair<NodeId, std::vector<int64_t>> key{step.node, step.region->computed_shape(want)};
    {
      std::lock_guard<std::mutex> lock(plan.verdict_mutex);
      auto it = plan.window_verdicts.find(key);
      if (it != plan.window_verdicts.end()) return it->second;
    }
    const Node& n = ex.graph_.node(step.node);
    std::vector<WindowInput> golden(n.inputs.size());
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (n.inputs[i] != kNoValue) golden[i].base = cache.values_[n.inputs[i]];
    }
    const bool exact = bitwise_equal(step.region->compute(golden, want).contiguous(),
                                     want.of(cache.values_[n.outputs[0]]).contiguous());
    std::lock_guard<std::mutex> lock(plan.verdict_mutex);
    plan.window_verdicts.emplace(std::move(key), exact);
    return exact;
  }

  // A window to compute at a step: the box of the output that the changed inputs reach, the
  // box computed (the reach, or a shape shown to give the whole kernel's bits), the inputs.
  struct WindowJob {
    Box reach;
    Box computed;
    std::vector<WindowInput> ins;
  };
  enum class Windowed { kWhole, kMasked, kJob };

  // Computes only the box of the output that the changed input boxes can reach, when the op
  // declares a Region and that box is small; false: the outputs are to be computed whole.
  bool window(const Plan::Step& step) {
    WindowJob job;
    switch (plan_window(step, job)) {
      case Windowed::kWhole:
        return false;
      case Windowed::kMasked:
        return true;
      case Windowed::kJob:
        break;
    }
    at::Tensor y = step.region->compute(job.ins, job.computed);
    const Plan::Step& last = fuse(step, y, &job.computed);
    take_window(step, job, std::move(y), &last);
    return true;
  }

  // Runs `head`'s chain (Plan::Step::chain) on `y`, head's output computed whole (computed:
  // nullptr) or its window `*computed`, as far as this rerun allows: every later value of
  // the chain is read by the next step alone, so only the last one needs to be kept, which
  // spares each step in between its window's bookkeeping, its scan against the golden
  // value, and (where `y` is nobody else's: in place) its allocation. The steps are per-
  // element and exact, so the last value's bits are those that step by step gives. Returns
  // the last step run (head when none), `y` then its output; each step run counts as
  // recomputed, its FLOPs added. Not while tracking the first non-finite node (a rerun that
  // needs it runs step by step), nor past a step whose other inputs or output this rerun
  // changed (a weight fault, an input edge's fault).
  const Plan::Step& fuse(const Plan::Step& head, at::Tensor& y, const Box* computed) {
    if (track_non_finite || head.chain.empty() || !y.defined()) return head;
    const Plan& plan = *static_cast<const Plan*>(cache.plan_);
    const Plan::Step* last = &head;
    for (const size_t index : head.chain) {
      const Plan::Step& c = plan.steps[index];
      const Node& cn = ex.graph_.node(c.node);
      const ValueId out = cn.outputs[0];
      bool stop = boxes[out].has_value() || patches[out].box.has_value();
      for (size_t i = 0; i < cn.inputs.size() && !stop; ++i) {
        stop = edge_at(cn, i) || (i > 0 && cn.inputs[i] != kNoValue && boxes[cn.inputs[i]]);
      }
      if (stop) break;
      const at::Tensor& golden_in = cache.values_[cn.inputs[0]];
      // BatchNormalization over a window of some channels reads those channels' terms:
      // its region's computation. Else the kernel itself, in place where it may.
      if (computed && cn.op == OpKind::kBatchNormalization &&
          (computed->lo[1] != 0 || computed->hi[1] != golden_in.size(1))) {
        std::vector<WindowInput> ins(cn.inputs.size());
        ins[0] = {golden_in, *computed, y};
        for (size_t i = 1; i < cn.inputs.size(); ++i) {
          if (cn.inputs[i] != kNoValue) ins[i].base = values[cn.inputs[i]];
        }
        y = c.region->compute(ins, *computed);
      } else {
        std::vector<at::Tensor> ins(cn.inputs.size()), outs(1);
        // Nobody else's (not a golden value, an input passed through, or a view of one).
        const bool own = sole_owner(y);
        ins[0] = std::move(y);
        for (size_t i = 1; i < cn.inputs.size(); ++i) {
          if (cn.inputs[i] != kNoValue) ins[i] = values[cn.inputs[i]];
        }
        KernelArgs args{ins, outs, own ? uint64_t{1} : uint64_t{0}, cache.first_sample_};
        call_kernel(ex.graph_, cn, c.kernel, args);
        y = std::move(outs[0]);
      }
      r.flops += computed ? c.flops * share_of(*computed, out) : c.flops;
      ++r.nodes_recomputed;
      last = &c;
    }
    return *last;
  }

  // What window() does at `step`: compute it whole (kWhole), nothing (the reach is empty:
  // masked there, counted), or the window `job` describes (kJob: take_window takes its values).
  Windowed plan_window(const Plan::Step& step, WindowJob& job) {
    std::optional<Box> reach = reach_of(step);
    if (!reach) return Windowed::kWhole;
    const Node& n = ex.graph_.node(step.node);
    const ValueId v = n.outputs[0];
    const at::Tensor& golden_out = cache.values_[v];
    if (reach->volume() == 0) {
      ++r.nodes_masked;
      return Windowed::kMasked;
    }
    // The box computed: the reach, or (a window that may sum in another order than the
    // whole kernel) the first of the reach and the reach stretched over one whole spatial
    // dim whose shape was shown to give the whole kernel's bits (oneDNN's 1x1 kernel sums
    // some layers' windows alike only at full height). Else the node is computed whole, so
    // that cone gives every value a full recompute gives.
    std::vector<Box> candidates{*reach};
    // oneDNN's 1x1 kernel blocks its sums by output height, in classes (measured on the
    // layer shapes of ResNet-50 and MobileNetV2: up to 10 rows, 11 to 27, 28 and more, and
    // the width did not matter; not so on every shape): a window raised to the first height
    // of the whole layer's class often sums like it.
    for (const int64_t rows : kBlockingHeights) {
      if (step.region->exact || reach->lo.size() < 3) break;
      const int64_t size = golden_out.size(2), height = reach->hi[2] - reach->lo[2];
      if (height >= rows || size < rows) continue;
      Box b = *reach;
      b.hi[2] = std::min(size, b.lo[2] + rows);
      b.lo[2] = b.hi[2] - rows;
      candidates.push_back(std::move(b));
    }
    for (size_t d = 2; !step.region->exact && d < reach->lo.size(); ++d) {
      const int64_t size = golden_out.size(static_cast<int64_t>(d));
      if (reach->lo[d] == 0 && reach->hi[d] == size) continue;
      Box b = *reach;
      b.lo[d] = 0;
      b.hi[d] = size;
      candidates.push_back(std::move(b));
    }
    std::optional<Box> computed;
    for (const Box& b : candidates) {
      const double share = share_of(b, v);
      // Most of the output: the full kernel costs no more than a window and its bookkeeping.
      if (share > (step.region->exact ? kMaxExactWindowShare : kMaxWindowShare)) continue;
      // Nor does a window that saves less work than ExecOptions::min_window_saving (1e6,
      // tens of microseconds of one core: its slicing, padding and allocations cost more).
      // Measured, 1 thread: ResNet-20 campaign 2321 -> 2591 trials/s, MobileNetV2 231 ->
      // 243, ResNet-50 47.0 -> 48.1, FLOPs per trial +0.3% at most (4e6: ResNet-20 only
      // gained, a third more FLOPs). Work is FLOPs and kElementWork per output element: a
      // node computed whole also copies its whole input (the producer's window applied) and
      // passes over all of it, which the one or two FLOPs per element of BatchNormalization,
      // Clip or Add do not show (counting FLOPs only, MobileNetV2 computed them whole after
      // nearly every convolution window; windowing all of them: MobileNetV2 +32%, but
      // ResNet-20 -18%; this rule keeps ResNet-20's tiny tensors whole).
      const double work =
          static_cast<double>(step.flops) + kElementWork * static_cast<double>(golden_out.numel());
      if (work * (1.0 - share) < ex.options_.min_window_saving) continue;
      if (layer_exact(step) || shape_exact(step, b)) {
        computed = b;
        break;
      }
    }
    if (!computed) return Windowed::kWhole;
    job.ins.resize(n.inputs.size());
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      ValueId in = n.inputs[i];
      if (in != kNoValue) job.ins[i] = {values[in], patches[in].box, patches[in].data};
      if (edge_at(n, i)) job.ins[i] = {edge->value, {}, {}};
    }
    job.reach = std::move(*reach);
    job.computed = std::move(*computed);
    return Windowed::kJob;
  }

  // The values of `job`'s computed box (`faulty`) as the step's output (or, after a chain,
  // the output of its last step `out_step`): a patch over the golden value, or nothing
  // where they came out bit-identical to it (masked there).
  void take_window(const Plan::Step& step, const WindowJob& job, at::Tensor faulty,
                   const Plan::Step* out_step = nullptr) {
    r.flops += step.flops * share_of(job.computed, ex.graph_.node(step.node).outputs[0]);
    const Node& n = ex.graph_.node(out_step ? out_step->node : step.node);
    const ValueId v = n.outputs[0];
    const Box& reach = job.reach;
    for (size_t d = 2; d < reach.lo.size(); ++d) {
      const auto dim = static_cast<int64_t>(d);
      faulty = faulty.narrow(dim, reach.lo[d] - job.computed.lo[d], reach.hi[d] - reach.lo[d]);
    }
    // The first difference ends the scan and the whole window is the changed box: scanning
    // for a tighter one cost more than it saved (measured: no smaller windows downstream).
    if (!changed_box_of(faulty, reach.of(cache.values_[v]), nullptr, false)) {
      ++r.nodes_masked;
      return;
    }
    note_non_finite(n, faulty, v);
    Patch p;
    p.data = faulty;
    p.box = reach;
    patches[v] = std::move(p);
    boxes[v] = reach;
  }

  // Output i of step's node, computed whole. Returns whether it differs from the golden one.
  // `reach_step`: the step whose changed inputs bound the change (a chain's head, whose
  // output the chain's steps map to the same box); by default `step`.
  bool take(const Plan::Step& step, size_t i, const at::Tensor& out,
            const Plan::Step* reach_step = nullptr) {
    const Node& n = ex.graph_.node(step.node);
    const ValueId v = n.outputs[i];
    if (boxes[v]) return false;  // a value replaced by the caller stays as given
    const at::Tensor& golden = cache.values_[v];
    std::optional<Box> b;
    if (!windows) {
      // Only windows need the box; else "changed" is all (memcmp stops at a difference).
      if (!bitwise_equal(out, golden)) b = Box::whole(out.sizes());
    } else if (std::optional<Box> reach = reach_of(reach_step ? *reach_step : step)) {
      // Nothing outside the reach can differ (the same kernel on the same inputs there), so
      // only the reach is scanned, up to its first difference, as in window().
      b = changed_box_of(out, golden, &*reach, false);
    } else {
      b = changed_box_of(out, golden);
    }
    if (!b) return false;
    note_non_finite(n, out, v);
    values[v] = out;
    boxes[v] = b;
    return true;
  }

  void run_whole(const Plan::Step& step) {
    const Node& n = ex.graph_.node(step.node);
    std::vector<at::Tensor> ins(n.inputs.size()), outs(n.outputs.size());
    for (size_t i = 0; i < n.inputs.size(); ++i) ins[i] = input(n, i);
    KernelArgs args{ins, outs, 0, cache.first_sample_};
    call_kernel(ex.graph_, n, step.kernel, args);
    r.flops += step.flops;
    bool any_changed = false;
    if (outs.size() == 1 && !step.chain.empty()) {
      // A kernel's output may alias an input (a view, a pass-through): fuse() then leaves
      // it as it is (sole_owner) and the chain's kernels write new tensors.
      const Plan::Step& last = fuse(step, outs[0], nullptr);
      any_changed = take(last, 0, outs[0], &step);
    } else {
      for (size_t i = 0; i < outs.size(); ++i) any_changed = take(step, i, outs[i]) || any_changed;
    }
    if (!any_changed) ++r.nodes_masked;
  }

  static bool run_batched(const Plan& plan, size_t step_index, const std::vector<Slot*>& group);

  void finish() {
    r.masked = true;
    for (ValueId o : ex.graph_.outputs()) {
      materialize(o);
      r.outputs.push_back(values[o]);
      r.masked = r.masked && !boxes[o];
    }
  }
};

// The same node for several slots at once, their variants stacked along dim 0. The first
// batch of each size runs one more variant, made of the golden inputs, in front: that golden
// slot must come out bit-identical to the golden run, else the kernel sums in another order
// at this batch size, the step is marked and never batched again, and false is returned (as
// when the node cannot be batched). A size shown exact runs without the golden slot from
// then on (a kernel's summation order depends on shapes, not data). So each slot gets
// exactly the bits a rerun of its fault alone gives, whatever the batch it shares.
bool Executor::Slot::run_batched(const Plan& plan, size_t step_index,
                                 const std::vector<Slot*>& group) {
  if (group.size() < 2) return false;
  const Plan::Step& step = plan.steps[step_index];
  std::atomic<bool>& inexact = plan.batch_inexact[step_index];
  if (!step.sample_inputs || inexact.load(std::memory_order_relaxed)) return false;
  const Graph& graph = group[0]->ex.graph_;
  const Node& n = graph.node(step.node);
  const GoldenCache& cache = group[0]->cache;
  const at::Tensor& golden_out = cache.values_[n.outputs[0]];
  if (!golden_out.defined() || golden_out.dim() < 1 || golden_out.size(0) != 1) return false;
  const int64_t k = static_cast<int64_t>(group.size());
  std::atomic<uint64_t>& exact_sizes = plan.batch_exact_sizes[step_index];
  const bool shown = k < 64 && ((exact_sizes.load(std::memory_order_relaxed) >> k) & 1U) != 0;
  const int64_t first = shown ? 0 : 1;  // variants start after the golden slot, if any
  std::vector<at::Tensor> ins(n.inputs.size()), outs(1);
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    if (n.inputs[i] == kNoValue) continue;
    const at::Tensor& golden_in = cache.values_[n.inputs[i]];
    bool changed = false;
    for (const Slot* s : group) changed = changed || s->input_changed(n, i);
    if (((*step.sample_inputs >> i) & 1U) == 0) {
      if (changed) return false;  // a shared input (a weight) differs between variants
      ins[i] = golden_in;
      continue;
    }
    if (!golden_in.defined() || golden_in.dim() < 1 || golden_in.size(0) != 1) return false;
    if (!changed) {
      std::vector<int64_t> sizes = golden_in.sizes().vec();
      sizes[0] = k + first;
      ins[i] = golden_in.expand(sizes);
      continue;
    }
    std::vector<at::Tensor> parts;
    if (!shown) parts.push_back(golden_in);
    for (Slot* s : group) parts.push_back(s->input(n, i));
    ins[i] = at::cat(parts, 0);
  }
  KernelArgs args{ins, outs, 0, cache.first_sample_};
  call_kernel(graph, n, step.kernel, args);
  FG_ASSERT(outs[0].dim() >= 1 && outs[0].size(0) == k + first, "node '", n.name, "': a batch of ",
            k + first, " variants gave ", outs[0].size(0));
  if (!shown) {
    if (!bitwise_equal(outs[0].narrow(0, 0, 1), golden_out)) {
      inexact.store(true, std::memory_order_relaxed);
      return false;
    }
    if (k + 1 < 64) exact_sizes.fetch_or(uint64_t{1} << (k + 1), std::memory_order_relaxed);
  }
  for (int64_t j = 0; j < k; ++j) {
    Slot& s = *group[static_cast<size_t>(j)];
    s.r.flops += step.flops;  // a golden slot is the batch's overhead, not the trial's
    ++s.r.nodes_batched;
    at::Tensor y = outs[0].narrow(0, j + first, 1);
    const Plan::Step& last = s.fuse(step, y, nullptr);
    if (!s.take(last, 0, y, &step)) ++s.r.nodes_masked;
  }
  return true;
}

std::unique_ptr<Executor::Slot> Executor::start(const GoldenCache& cache, const ValueFault& fault,
                                                Recompute mode, bool track_non_finite,
                                                FaultStart& f) const {
  auto slot = std::make_unique<Slot>(*this, cache, mode == Recompute::kCone, track_non_finite);
  if (!f.changed) return slot;
  if (fault.consumer != kNoNode) {
    slot->edge = f.edge.get();
    slot->edge_box = f.box;
  } else if (mode == Recompute::kCone) {
    // A patch over the golden value, as a windowed output is: consumers with a region read
    // the box, the others make the value whole.
    slot->patches[fault.value] = Slot::Patch{f.box, f.patch()};
    slot->boxes[fault.value] = f.box;
  } else {
    slot->values[fault.value] = f.applied();
    slot->boxes[fault.value] = f.box;
  }
  return slot;
}

Executor::FaultStart Executor::apply(const GoldenCache& cache, const ValueFault& fault) const {
  FG_CHECK(cache.graph_ == &graph_ && cache.plan_ != nullptr, UsageError,
           "rerun: the cache was made by another executor");
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
  FaultStart f;
  f.golden = golden.contiguous();
  ElementFaults corrupted = corrupt_elements(f.golden, spec, listed ? false : fault.batched,
                                             listed ? 0 : fault.first_sample);
  // Only the corrupted positions can differ: the box of those whose bits changed, without a
  // pass over the whole value (a trial's fault is one element of a large activation).
  {
    const at::Tensor positions = corrupted.positions.contiguous();
    const at::Tensor values = corrupted.values.contiguous();
    const auto* pos = positions.data_ptr<int64_t>();
    const auto size = static_cast<size_t>(golden.element_size());
    const auto* a = static_cast<const char*>(values.data_ptr());
    const auto* g = static_cast<const char*>(f.golden.data_ptr());  // contiguous
    const auto rank = static_cast<size_t>(golden.dim());
    std::vector<int64_t> coords(rank);
    std::vector<int64_t> changed, kept;
    // An element listed twice takes its last corrupted value, as in a whole copy.
    std::vector<bool> last(static_cast<size_t>(positions.numel()), true);
    if (positions.numel() > 1) {
      std::unordered_set<int64_t> seen;
      for (int64_t k = positions.numel(); k-- > 0;)
        last[static_cast<size_t>(k)] = seen.insert(pos[k]).second;
    }
    for (int64_t k = 0; k < positions.numel(); ++k) {
      if (!last[static_cast<size_t>(k)]) continue;
      if (std::memcmp(a + k * static_cast<int64_t>(size), g + pos[k] * static_cast<int64_t>(size),
                      size) == 0)
        continue;
      int64_t rest = pos[k];
      for (size_t d = rank; d-- > 0;) {
        const int64_t extent = golden.size(static_cast<int64_t>(d));
        coords[d] = rest % extent;
        rest /= extent;
      }
      changed.push_back(pos[k]);
      kept.push_back(k);
      f.coords.insert(f.coords.end(), coords.begin(), coords.end());
      if (!f.box) {
        f.box = Box{coords, coords};
        for (int64_t& h : f.box->hi) ++h;
        continue;
      }
      for (size_t d = 0; d < rank; ++d) {
        f.box->lo[d] = std::min(f.box->lo[d], coords[d]);
        f.box->hi[d] = std::max(f.box->hi[d], coords[d] + 1);
      }
    }
    f.changed = !changed.empty();
    if (f.changed) {
      f.positions = at::tensor(changed, at::kLong);
      f.values = values.index_select(0, at::tensor(kept, at::kLong));
    }
  }
  if (fault.consumer != kNoNode) {
    const Node& n = graph_.node(fault.consumer);
    FG_CHECK(fault.input_index >= 0 && static_cast<size_t>(fault.input_index) < n.inputs.size() &&
                 n.inputs[fault.input_index] == fault.value,
             UsageError, "rerun: value '", graph_.value(fault.value).name, "' is not input ",
             fault.input_index, " of node '", n.name, "'");
    if (f.changed)
      f.edge = std::make_unique<Override>(Override{n.id, fault.input_index, f.applied()});
  }
  return f;
}

// What the result says about the fault itself (the value as corrupted, listed elements).
void Executor::describe(const GoldenCache& cache, const ValueFault& fault, FaultStart& f,
                        RerunResult& r) const {
  const at::Tensor& golden = cache.values_[fault.value];
  // Only the changed positions can have turned non-finite.
  r.fault_non_finite = f.changed && !all_finite(f.values) && all_finite(golden);
  if (fault.keep_faulty_value) r.faulty_value = f.applied();
  at::Tensor flat_golden = f.golden.view(-1);
  const int64_t* changed = f.changed ? f.positions.data_ptr<int64_t>() : nullptr;
  for (int64_t e : fault.elements) {
    r.golden_values.push_back(flat_golden[e].item<double>());
    int64_t k = f.changed ? f.positions.numel() : 0;
    while (k-- > 0 && changed[k] != e) {
    }
    r.faulty_values.push_back(k >= 0 ? f.values[k].item<double>() : flat_golden[e].item<double>());
  }
}

bool Executor::outputs_turned_non_finite(const GoldenCache& cache, const RerunResult& r) const {
  for (size_t i = 0; i < r.outputs.size(); ++i) {
    if (!all_finite(r.outputs[i]) && all_finite(cache.values_[graph_.outputs()[i]])) return true;
  }
  return false;
}

RerunResult Executor::run_slot(const GoldenCache& cache, const ValueFault& fault, Recompute mode,
                               bool track_non_finite, FaultStart& f) const {
  const Plan& plan = *static_cast<const Plan*>(cache.plan_);
  if (mode == Recompute::kFull) {
    std::vector<at::Tensor> values = cache.values_;
    std::vector<bool> dirty(values.size(), false);
    if (fault.consumer == kNoNode && f.changed) {
      values[fault.value] = f.applied();
      dirty[fault.value] = true;
    }
    return propagate(cache, values, dirty, f.edge.get(), true, track_non_finite);
  }
  std::unique_ptr<Slot> slot = start(cache, fault, mode, track_non_finite, f);
  for (const auto* steps : {&plan.folded, &plan.steps}) {
    for (const auto& step : *steps) {
      if (slot->touches(graph_.node(step.node)) && !slot->window(step)) slot->run_whole(step);
    }
  }
  slot->finish();
  return std::move(slot->r);
}

RerunResult Executor::rerun(const GoldenCache& cache, const ValueFault& fault,
                            Recompute mode) const {
  FaultStart f = apply(cache, fault);
  // Finding the first non-finite node costs a pass over every recomputed value; only a
  // trial whose outputs end non-finite needs it, so that rare trial runs again with it.
  RerunResult r = run_slot(cache, fault, mode, false, f);
  if (outputs_turned_non_finite(cache, r)) r = run_slot(cache, fault, mode, true, f);
  describe(cache, fault, f, r);
  return r;
}

std::vector<RerunResult> Executor::rerun_batch(const GoldenCache& cache,
                                               std::span<const ValueFault> faults,
                                               Recompute mode) const {
  std::vector<RerunResult> results(faults.size());
  if (mode == Recompute::kFull || faults.size() < 2) {
    for (size_t i = 0; i < faults.size(); ++i) results[i] = rerun(cache, faults[i], mode);
    return results;
  }
  const Plan& plan = *static_cast<const Plan*>(cache.plan_);
  std::vector<FaultStart> starts(faults.size());
  std::vector<std::unique_ptr<Slot>> slots;
  for (size_t i = 0; i < faults.size(); ++i) {
    starts[i] = apply(cache, faults[i]);
    slots.push_back(start(cache, faults[i], mode, false, starts[i]));
  }
  // Weights feed folded nodes: one variant at a time (their weights differ).
  for (const auto& step : plan.folded) {
    for (auto& s : slots) {
      if (s->touches(graph_.node(step.node)) && !s->window(step)) s->run_whole(step);
    }
  }
  // In step: every variant that reaches a node whole joins its batch; the windows of those
  // that window it are computed in one call where the op can (Region::compute_many: the
  // weights read once for all); masked ones drop out.
  std::vector<Slot*> group, windowed;
  std::vector<Slot::WindowJob> jobs;
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const Plan::Step& step = plan.steps[i];
    group.clear();
    windowed.clear();
    jobs.clear();
    for (auto& s : slots) {
      if (!s->touches(graph_.node(step.node))) continue;
      Slot::WindowJob job;
      switch (s->plan_window(step, job)) {
        case Slot::Windowed::kWhole:
          group.push_back(s.get());
          break;
        case Slot::Windowed::kMasked:
          break;
        case Slot::Windowed::kJob:
          windowed.push_back(s.get());
          jobs.push_back(std::move(job));
          break;
      }
    }
    if (jobs.size() > 1 && step.region->compute_many) {
      std::vector<const std::vector<WindowInput>*> ins;
      std::vector<Box> boxes;
      for (const Slot::WindowJob& job : jobs) {
        ins.push_back(&job.ins);
        boxes.push_back(job.computed);
      }
      std::vector<at::Tensor> ys = step.region->compute_many(ins, boxes);
      FG_ASSERT(ys.size() == jobs.size(), "node '", graph_.node(step.node).name, "': ", jobs.size(),
                " windows gave ", ys.size());
      for (size_t j = 0; j < jobs.size(); ++j) {
        ++windowed[j]->r.nodes_batched;
        const Plan::Step& last = windowed[j]->fuse(step, ys[j], &jobs[j].computed);
        windowed[j]->take_window(step, jobs[j], std::move(ys[j]), &last);
      }
    } else {
      for (size_t j = 0; j < jobs.size(); ++j) {
        at::Tensor y = step.region->compute(jobs[j].ins, jobs[j].computed);
        const Plan::Step& last = windowed[j]->fuse(step, y, &jobs[j].computed);
        windowed[j]->take_window(step, jobs[j], std::move(y), &last);
      }
    }
    if (Slot::run_batched(plan, i, group)) continue;
    for (Slot* s : group) s->run_whole(step);
  }
  for (size_t i = 0; i < faults.size(); ++i) {
    slots[i]->finish();
    results[i] = std::move(slots[i]->r);
    if (outputs_turned_non_finite(cache, results[i]))
      results[i] = run_slot(cache, faults[i], mode, true, starts[i]);
    describe(cache, faults[i], starts[i], results[i]);
  }
  return results;
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
