#include "faultgraph/fault/inject.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>

#include "faultgraph/core/error.h"
#include "faultgraph/core/interrupt.h"
#include "faultgraph/core/progress.h"
#include "faultgraph/exec/executor.h"

namespace fg {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

int64_t count_changed(const at::Tensor& a, const at::Tensor& b) {
  if (a.scalar_type() != at::kFloat) return a.ne(b).sum().item<int64_t>();
  return a.contiguous().view(at::kInt).ne(b.contiguous().view(at::kInt)).sum().item<int64_t>();
}

// The value a configured fault corrupts, and who sees it, as the insert-faults pass places
// it (insert_faults has already checked that the site exists).
ValueFault value_fault_for(const Graph& g, const PlannedFault& f) {
  ValueFault v;
  v.spec = f.spec;
  v.batched = true;
  const FaultSite& s = f.site;
  if (s.kind == SiteKind::kModelInput) {
    for (ValueId in : g.runtime_inputs()) {
      if (g.value(in).name == s.node) v.value = in;
    }
    return v;
  }
  const Node& n = g.node_named(s.node);
  switch (s.kind) {
    case SiteKind::kActivation:
      v.value = n.outputs.at(static_cast<size_t>(s.index));
      break;
    case SiteKind::kInputEdge:
      v.value = n.inputs.at(static_cast<size_t>(s.index));
      v.consumer = n.id;
      v.input_index = s.index;
      break;
    case SiteKind::kWeight:
    case SiteKind::kBias:
      v.input_index = s.kind == SiteKind::kWeight ? 1 : 2;
      v.value = n.inputs.at(static_cast<size_t>(v.input_index));
      v.consumer = n.id;
      v.batched = false;  // corrupted once, for every sample
      break;
    case SiteKind::kModelInput:
      break;
  }
  return v;
}

// Samples per cached golden run: every intermediate value of a batch is kept, so the batch
// is cut down to keep that under about 512 MiB.
int64_t cached_batch(Executor& exec, const at::Tensor& images, int64_t wanted) {
  GoldenCache one = exec.run_cached({images.slice(0, 0, 1)});
  int64_t bytes = 0;
  for (const at::Tensor& t : one.values()) {
    if (t.defined()) bytes += static_cast<int64_t>(t.nbytes());
  }
  return std::clamp<int64_t>((int64_t{512} << 20) / std::max<int64_t>(bytes, 1), 1, wanted);
}

}  // namespace

InjectResult run_inject(const Graph& model, const FaultConfig& config, const at::Tensor& images,
                        const at::Tensor& labels, int64_t classes, const InjectOptions& o) {
  FG_CHECK(o.batch > 0, UsageError, "batch size must be positive");
  int64_t n = o.limit > 0 ? std::min(o.limit, images.size(0)) : images.size(0);
  FG_CHECK(n > 0, UsageError, "the dataset is empty");
  InjectResult result;
  Evaluation::Scores scores = scores_of(model);
  result.golden = Evaluation(classes, scores);

  // Each valid entry's faulty model (for its picture; it also checks the site) and the
  // fault the executor applies to the golden values.
  struct Running {
    EntryResult r;
    ValueFault fault;
    double seconds = 0;
  };
  std::vector<Running> entries;
  for (const auto& entry : config.entries) {
    Running e;
    e.r.entry = entry;
    e.r.faulty = Evaluation(classes, scores);
    if (!entry.fault) {
      e.r.error = entry.error;
    } else {
      try {
        e.r.faulty_graph = insert_faults(model, {*entry.fault});
        for (const Node& node : e.r.faulty_graph.nodes()) {
          if (node.op == OpKind::kFault) e.r.fault_node = node.name;
        }
        e.fault = value_fault_for(model, *entry.fault);
        e.r.ran = true;
      } catch (const Error& err) {
        e.r.error = fmt::format("entry {} ({}): {}", entry.index, entry.label, err.what());
      }
    }
    entries.push_back(std::move(e));
  }
  int64_t valid = 0;
  for (const auto& e : entries) valid += e.r.ran ? 1 : 0;
  Progress progress("golden model", n * (1 + valid), "img", false);
  if (!o.progress) progress.finish();

  // One golden run per batch, kept; each entry recomputes only what its fault reaches.
  Executor exec(model);
  at::NoGradGuard no_grad;
  const int64_t batch = cached_batch(exec, images, o.batch);
  for (int64_t begin = 0; begin < n; begin += batch) {
    check_interrupt();
    int64_t end = std::min(n, begin + batch);
    at::Tensor y = labels.slice(0, begin, end);
    auto t0 = std::chrono::steady_clock::now();
    GoldenCache golden = exec.run_cached({images.slice(0, begin, end)}, begin);
    result.golden.add(golden.outputs().at(0), y);
    result.golden_seconds += seconds_since(t0);
    progress.advance(end - begin);
    for (auto& e : entries) {
      if (!e.r.ran) continue;
      progress.set_label(
          fmt::format("entry {}/{} {}", e.r.entry.index, config.entries.size(), e.r.entry.label));
      auto t1 = std::chrono::steady_clock::now();
      ValueFault f = e.fault;
      f.first_sample = begin;
      try {
        RerunResult r = exec.rerun(golden, f, Recompute::kDownstream);
        e.r.faulty.add(r.outputs.at(0), y);
        // A weight is corrupted once, not per batch: count it once.
        if (f.batched || begin == 0) {
          const at::Tensor& a = golden.value(f.value);
          const at::Tensor& b = r.faulty_value;
          e.r.corrupted += count_changed(a, b);
          e.r.observed += a.numel();
          if (begin == 0) {
            at::Tensor fa = a.contiguous().view(-1), fb = b.contiguous().view(-1);
            at::Tensor differs = fa.scalar_type() == at::kFloat
                                     ? fa.view(at::kInt).ne(fb.view(at::kInt))
                                     : fa.ne(fb);
            at::Tensor idx = differs.nonzero().view(-1);
            for (int64_t i = 0; i < std::min<int64_t>(5, idx.numel()); ++i) {
              int64_t k = idx[i].item<int64_t>();
              e.r.examples.push_back({k, fa[k].item<float>(), fb[k].item<float>()});
            }
          }
        }
      } catch (const Error& err) {
        e.r.ran = false;
        e.r.error = fmt::format("entry {} ({}): {}", e.r.entry.index, e.r.entry.label, err.what());
      }
      e.seconds += seconds_since(t1);
      progress.advance(end - begin);
    }
  }
  progress.finish();
  at::Tensor golden_pred = result.golden.predictions();
  for (auto& e : entries) {
    if (e.r.ran) {
      e.r.changed_predictions = e.r.faulty.predictions().ne(golden_pred).sum().item<int64_t>();
      e.r.seconds = e.seconds;
    }
    result.entries.push_back(std::move(e.r));
  }
  return result;
}

}  // namespace fg
