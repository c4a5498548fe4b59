#include "faultgraph/fault/inject.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <chrono>

#include "faultgraph/core/error.h"
#include "faultgraph/core/progress.h"
#include "faultgraph/eval/evaluate.h"
#include "faultgraph/exec/executor.h"

namespace fg {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// The faulty graph with each Fault node's input and output added as graph outputs, so a
// plain run returns them for counting (outputs are never overwritten in place).
Graph with_fault_probes(const Graph& g, std::vector<std::pair<size_t, size_t>>& probes) {
  Graph out = g;
  for (const Node& n : g.nodes()) {
    if (n.op != OpKind::kFault) continue;
    probes.emplace_back(out.outputs().size(), out.outputs().size() + 1);
    out.add_output(n.inputs[0]);
    out.add_output(n.outputs[0]);
  }
  return out;
}

int64_t count_changed(const at::Tensor& a, const at::Tensor& b) {
  if (a.scalar_type() != at::kFloat) return a.ne(b).sum().item<int64_t>();
  return a.contiguous().view(at::kInt).ne(b.contiguous().view(at::kInt)).sum().item<int64_t>();
}

}  // namespace

InjectResult run_inject(const Graph& model, const FaultConfig& config, const at::Tensor& images,
                        const at::Tensor& labels, int64_t classes, const InjectOptions& o) {
  FG_CHECK(o.batch > 0, UsageError, "batch size must be positive");
  int64_t n = o.limit > 0 ? std::min(o.limit, images.size(0)) : images.size(0);
  FG_CHECK(n > 0, UsageError, "the dataset is empty");
  InjectResult result;
  result.golden = Evaluation(classes, scores_of(model));
  int valid = 0;
  for (const auto& e : config.entries) valid += e.fault ? 1 : 0;
  Progress progress("golden model", n * (1 + valid), "img", false);
  if (!o.progress) progress.finish();

  EvalOptions eval_options;
  eval_options.batch = o.batch;
  eval_options.limit = n;
  auto t0 = std::chrono::steady_clock::now();
  {
    Executor exec(model);
    result.golden =
        evaluate(exec, images, labels, classes, scores_of(model), eval_options, &progress);
  }
  result.golden_seconds = seconds_since(t0);
  at::Tensor golden_pred = result.golden.predictions();

  for (const auto& entry : config.entries) {
    EntryResult r;
    r.entry = entry;
    r.faulty = Evaluation(classes, scores_of(model));
    if (!entry.fault) {
      r.error = entry.error;
      result.entries.push_back(std::move(r));
      continue;
    }
    progress.set_label(
        fmt::format("entry {}/{} {}", entry.index, config.entries.size(), entry.label));
    auto t1 = std::chrono::steady_clock::now();
    try {
      r.faulty_graph = insert_faults(model, {*entry.fault});
      std::vector<std::pair<size_t, size_t>> probes;
      Graph probed = with_fault_probes(r.faulty_graph, probes);
      for (const Node& node : r.faulty_graph.nodes()) {
        if (node.op == OpKind::kFault) r.fault_node = node.name;
      }
      bool per_batch =
          entry.fault->site.kind != SiteKind::kWeight && entry.fault->site.kind != SiteKind::kBias;
      Executor exec(probed);
      r.faulty = evaluate(exec, images, labels, classes, scores_of(model), eval_options, &progress,
                          [&](const std::vector<at::Tensor>& out, int64_t begin) {
                            for (auto [in, faulty] : probes) {
                              if (!per_batch && begin > 0)
                                continue;  // a weight is corrupted once, not per batch
                              const at::Tensor& a = out[in];
                              const at::Tensor& b = out[faulty];
                              r.corrupted += count_changed(a, b);
                              r.observed += a.numel();
                              if (begin == 0) {
                                at::Tensor idx =
                                    (a.contiguous().view(at::kInt) != b.contiguous().view(at::kInt))
                                        .view(-1)
                                        .nonzero()
                                        .view(-1);
                                for (int64_t i = 0; i < std::min<int64_t>(5, idx.numel()); ++i) {
                                  int64_t k = idx[i].item<int64_t>();
                                  r.examples.push_back({k, a.view(-1)[k].item<float>(),
                                                        b.view(-1)[k].item<float>()});
                                }
                              }
                            }
                          });
      r.changed_predictions = r.faulty.predictions().ne(golden_pred).sum().item<int64_t>();
      r.ran = true;
    } catch (const Error& e) {
      r.error = fmt::format("entry {} ({}): {}", entry.index, entry.label, e.what());
    }
    r.seconds = seconds_since(t1);
    result.entries.push_back(std::move(r));
  }
  progress.finish();
  return result;
}

}  // namespace fg
