#include "faultgraph/ir/dump.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "faultgraph/ir/topo.h"

namespace fg {

std::string format_type(const Value& v) {
  if (!v.rank_known) return fmt::format("{}[?]", dtype_name(v.dtype));
  std::vector<std::string> dims;
  for (int64_t d : v.shape) dims.push_back(d < 0 ? "?" : std::to_string(d));
  return fmt::format("{}[{}]", dtype_name(v.dtype), fmt::join(dims, ","));
}

std::string dump_text(const Graph& g) {
  std::string out = fmt::format("graph {} (opset {})\n", g.name, g.opset);
  for (ValueId in : g.runtime_inputs()) {
    out += fmt::format("  input  {}: {}\n", g.value(in).name, format_type(g.value(in)));
  }
  for (NodeId id : topological_order(g)) {
    const Node& n = g.node(id);
    std::vector<std::string> ins, outs, attrs;
    for (ValueId v : n.inputs) ins.push_back(v == kNoValue ? "<none>" : g.value(v).name);
    for (ValueId v : n.outputs) {
      outs.push_back(fmt::format("{}: {}", g.value(v).name, format_type(g.value(v))));
    }
    for (const auto& [k, a] : n.attrs.items())
      attrs.push_back(fmt::format("{}={}", k, format_attr(a)));
    out += fmt::format("  {} = {}({}){} -> {}\n", n.name, op_name(n.op), fmt::join(ins, ", "),
                       attrs.empty() ? "" : fmt::format(" {{{}}}", fmt::join(attrs, ", ")),
                       fmt::join(outs, ", "));
  }
  for (ValueId o : g.outputs()) {
    out += fmt::format("  output {}: {}\n", g.value(o).name, format_type(g.value(o)));
  }
  return out;
}

namespace {
std::string dot_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}
}  // namespace

std::string to_dot(const Graph& g, const DotOptions& options) {
  std::string out =
      "digraph faultgraph {\n  rankdir=TB;\n  node [shape=box, style=\"rounded,filled\", "
      "fillcolor=\"#eef3fb\", fontname=\"Helvetica\"];\n"
      "  edge [fontname=\"Helvetica\", fontsize=10];\n";
  // Extra label line, fill and border of a node or input named `name`.
  auto style = [&](const std::string& name, bool hot) {
    std::string s;
    auto note = options.note.find(name);
    if (note != options.note.end()) s += "\\n" + dot_escape(note->second);
    s += "\"";
    auto fill = options.fill.find(name);
    if (hot) {
      s += ", fillcolor=\"#ffcdd2\", color=\"#c62828\", penwidth=2";
    } else if (fill != options.fill.end()) {
      s += fmt::format(", fillcolor=\"{}\"", dot_escape(fill->second));
    }
    if (options.marked.count(name) != 0) s += ", penwidth=2.5";
    return s;
  };
  for (ValueId in : g.runtime_inputs()) {
    const std::string& name = g.value(in).name;
    out += fmt::format("  \"v:{}\" [label=\"{}\\n{}{}, shape=ellipse{}];\n", dot_escape(name),
                       dot_escape(name), format_type(g.value(in)), style(name, false),
                       options.fill.count(name) ? "" : ", fillcolor=\"#e8f5e9\"");
  }
  for (const Node& n : g.nodes()) {
    bool hot = options.highlight.count(n.name) != 0;
    out += fmt::format("  \"n:{}\" [label=\"{}\\n{}{}];\n", dot_escape(n.name), dot_escape(n.name),
                       op_name(n.op), style(n.name, hot));
  }
  if (!options.legend.empty()) {
    out += fmt::format(
        "  subgraph cluster_legend {{\n    label=\"{}\"; fontname=\"Helvetica\"; "
        "style=rounded; color=\"#999999\";\n",
        dot_escape(options.legend_title));
    std::string prev;
    for (size_t i = 0; i < options.legend.size(); ++i) {
      std::string id = fmt::format("legend:{}", i);
      out +=
          fmt::format("    \"{}\" [label=\"{}\", fillcolor=\"{}\", shape=box, style=filled];\n", id,
                      dot_escape(options.legend[i].first), dot_escape(options.legend[i].second));
      if (!prev.empty()) out += fmt::format("    \"{}\" -> \"{}\" [style=invis];\n", prev, id);
      prev = id;
    }
    out += "  }\n";
  }
  for (const Node& n : g.nodes()) {
    for (ValueId in : n.inputs) {
      if (in == kNoValue) continue;
      const Value& v = g.value(in);
      if (v.is_initializer()) continue;  // weights are attributes of the node in pictures
      std::string src = v.producer == kNoNode ? "v:" + v.name : "n:" + g.node(v.producer).name;
      out += fmt::format("  \"{}\" -> \"n:{}\"{};\n", dot_escape(src), dot_escape(n.name),
                         options.show_shapes ? fmt::format(" [label=\"{}\"]", format_type(v)) : "");
    }
  }
  for (ValueId o : g.outputs()) {
    const Value& v = g.value(o);
    out += fmt::format("  \"out:{}\" [label=\"{}\\n{}\", shape=ellipse, fillcolor=\"#fff8e1\"];\n",
                       dot_escape(v.name), dot_escape(v.name), format_type(v));
    std::string src = v.producer == kNoNode ? "v:" + v.name : "n:" + g.node(v.producer).name;
    out += fmt::format("  \"{}\" -> \"out:{}\";\n", dot_escape(src), dot_escape(v.name));
  }
  out += "}\n";
  return out;
}

}  // namespace fg
