// faultgraph inspect MODEL: one row per node (name, op, inputs, output shape, parameters,
// FLOPs) and totals; --dot and --text write Graphviz and text renderings.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>

#include "commands.h"
#include "faultgraph/core/error.h"
#include "faultgraph/core/files.h"
#include "faultgraph/io/onnx.h"
#include "faultgraph/ir/dump.h"
#include "faultgraph/ir/topo.h"
#include "faultgraph/ops/infer.h"

namespace fg::cli {

namespace {
struct InspectArgs {
  std::string model;
  int64_t batch = 1;
  std::string dot;
  bool text = false;
};

std::string human(double v) {
  const char* units[] = {"", "K", "M", "G", "T"};
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f}", v) : fmt::format("{:.2f}{}", v, units[u]);
}

std::string shape_str(const TensorInfo& t) {
  if (!t.rank_known) return "?";
  std::vector<std::string> d;
  for (int64_t x : t.shape) d.push_back(x < 0 ? "?" : std::to_string(x));
  return fmt::format("{}[{}]", dtype_name(t.dtype), fmt::join(d, ","));
}

int run_inspect(const InspectArgs& a) {
  if (!a.dot.empty()) {  // before the table (was refused after it)
    check_output_file(a.dot);
    check_output_not_input(a.dot, a.model, "the model");
  }
  Graph g = load_model(a.model);  // an ONNX file or a built-in model (untrained)
  // A symbolic batch dim is taken as --batch for the table; other symbolic dims (a dynamic
  // height or width) stay unknown and show as "?".
  std::vector<TensorInfo> inputs;
  for (ValueId v : g.runtime_inputs()) {
    TensorInfo t;
    t.dtype = g.value(v).dtype;
    t.shape = g.value(v).shape;
    t.rank_known = g.value(v).rank_known;
    if (!t.shape.empty() && t.shape[0] < 0) t.shape[0] = a.batch;
    inputs.push_back(t);
  }
  auto info = infer_types(g, inputs);
  if (a.text) {
    fmt::print("{}", dump_text(with_inferred_types(g)));
    return 0;
  }
  if (!a.dot.empty()) {
    std::ofstream f(a.dot);
    FG_CHECK(f.good(), UsageError, a.dot, ": cannot open for writing");
    f << to_dot(with_inferred_types(g));
    fmt::print(stderr, "wrote {}\n", a.dot);
  }
  size_t wname = 4, wop = 2;
  for (const Node& n : g.nodes()) {
    wname = std::max(wname, std::min<size_t>(n.name.size(), 48));
    wop = std::max(wop, op_name(n.op).size());
  }
  fmt::print("model {}  (opset {}, {} nodes, batch {})\n", a.model, g.opset, g.nodes().size(),
             a.batch);
  for (ValueId v : g.runtime_inputs()) {
    fmt::print("input  {}: {}\n", g.value(v).name, shape_str(info[v]));
  }
  fmt::print("{:<{}}  {:<{}}  {:<40}  {:<22}  {:>10}  {:>10}\n", "node", wname, "op", wop, "inputs",
             "output", "params", "FLOPs");
  int64_t total_params = 0, total_flops = 0;
  bool flops_partial = false;
  for (NodeId id : topological_order(g)) {
    const Node& n = g.node(id);
    std::vector<std::string> ins;
    std::vector<TensorInfo> in_info(n.inputs.size()), out_info;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      ValueId v = n.inputs[i];
      if (v == kNoValue) continue;
      in_info[i] = info[v];
      if (!g.value(v).is_initializer()) ins.push_back(g.value(v).name);
    }
    for (ValueId v : n.outputs) out_info.push_back(info[v]);
    const OpDef& d = op_def(n.op);
    OpContext ctx{n, in_info, g.opset};
    int64_t flops = d.moves_data ? 0 : d.flops ? d.flops(ctx, out_info) : out_info[0].numel();
    if (flops < 0) flops_partial = true;
    int64_t params = parameter_count(g, n);
    total_params += params;
    total_flops += std::max<int64_t>(flops, 0);
    std::string in_list = fmt::format("{}", fmt::join(ins, ","));
    if (in_list.size() > 40) in_list = in_list.substr(0, 37) + "...";
    fmt::print("{:<{}}  {:<{}}  {:<40}  {:<22}  {:>10}  {:>10}\n", n.name, wname, op_name(n.op),
               wop, in_list, shape_str(out_info[0]),
               params ? human(static_cast<double>(params)) : "-",
               flops > 0   ? human(static_cast<double>(flops))
               : flops < 0 ? "?"
                           : "-");
  }
  for (ValueId v : g.outputs()) fmt::print("output {}: {}\n", g.value(v).name, shape_str(info[v]));
  fmt::print("total: {} nodes, {} parameters ({}), {} FLOPs{} per forward at batch {}\n",
             g.nodes().size(), total_params, human(static_cast<double>(total_params)),
             human(static_cast<double>(total_flops)), flops_partial ? " (some unknown)" : "",
             a.batch);
  return 0;
}
}  // namespace

Command add_inspect(CLI::App& app) {
  auto args = std::make_shared<InspectArgs>();
  CLI::App* cmd = app.add_subcommand(
      "inspect", "Print every node of a model with shapes, parameters and FLOPs");
  cmd->add_option("model", args->model, "ONNX model file, or a built-in model name (untrained)")
      ->required();
  cmd->add_option("--batch", args->batch, "batch size for symbolic batch dims (default 1)")
      ->check(kPositive);
  cmd->add_option("--dot", args->dot,
                  "also write a Graphviz DOT picture of the graph (missing folders are created)");
  cmd->add_flag("--text", args->text, "print the graph as text (one line per node) instead");
  return {cmd, [args] { return run_inspect(*args); }};
}

Command add_ops(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("ops", "List the ONNX operators faultgraph supports");
  return {cmd, [] {
            for (size_t i = 0; i < kOpKindCount; ++i) {
              fmt::print("{}\n", op_name(static_cast<OpKind>(i)));
            }
            return 0;
          }};
}

}  // namespace fg::cli
