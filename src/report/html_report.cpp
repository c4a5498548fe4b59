#include "faultgraph/report/html_report.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "faultgraph/campaign/report.h"
#include "faultgraph/core/error.h"
#include "faultgraph/core/files.h"
#include "faultgraph/ir/dump.h"
#include "faultgraph/report/campaign_pictures.h"
#include "faultgraph/report/charts.h"
#include "faultgraph/report/graphviz.h"

namespace fg {

namespace fs = std::filesystem;

std::string base64(std::string_view bytes) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) |
                 (static_cast<uint8_t>(bytes[i + 1]) << 8) | static_cast<uint8_t>(bytes[i + 2]);
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += table[(v >> 6) & 63];
    out += table[v & 63];
  }
  if (i < bytes.size()) {
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? table[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace {

// report.json and the pictures of an inject run's output folder.
std::string read_bytes(const std::string& path) {
  return read_input_file<DatasetError>(path, "a file of a faultgraph inject run's output",
                                       uint64_t{1} << 30);
}

// An <img> with the file embedded; `alt` says what it shows.
std::string embedded_image(const std::string& path, const std::string& alt) {
  std::string ext = fs::path(path).extension().string();
  std::string mime = ext == ".svg" ? "image/svg+xml" : "image/png";
  return fmt::format("<img src=\"data:{};base64,{}\" alt=\"{}\">", mime, base64(read_bytes(path)),
                     html_escape(alt));
}

std::string figure(const std::string& path, const std::string& title, const std::string& caption,
                   const std::string& id) {
  return fmt::format("<figure id=\"{}\">{}<figcaption><b>{}</b>{}</figcaption></figure>\n",
                     html_escape(id), embedded_image(path, title), html_escape(title),
                     caption.empty() ? "" : ". " + html_escape(caption));
}

const char* kStyle = R"(<style>
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 75em;
       color: #222; line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; border-bottom: 2px solid #c0392b; padding-bottom: .2em; }
h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: .85em; margin: .5em 0 1em; }
th, td { border: 1px solid #ccc; padding: .2em .5em; }
th { background: #f3f3f3; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: .15em 1em; }
dl.facts dt { font-weight: bold; } dl.facts dd { margin: 0; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: .85em; color: #444; }
pre { background: #f7f7f7; padding: .6em; overflow-x: auto; font-size: .85em; }
.headline { font-size: 1.1em; } .note { color: #7a4b00; }
details summary { cursor: pointer; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(26em, 1fr)); gap: 0 1.5em; }
@media print {
  body { max-width: none; margin: 0; } figure, table, pre { break-inside: avoid; }
  details { display: block; } h2 { break-after: avoid; }
}
</style>
)";

std::string page(const std::string& title, const std::string& body) {
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n"
      "{}</head>\n<body>\n{}</body>\n</html>\n",
      html_escape(title), kStyle, body);
}

std::string fact(const std::string& name, const std::string& value, const std::string& id = "") {
  return fmt::format("<dt>{}</dt><dd{}>{}</dd>\n", html_escape(name),
                     id.empty() ? "" : fmt::format(" id=\"{}\"", id), value);
}

// A number cell carrying its exact value.
std::string num_cell(double exact, const std::string& shown) {
  return fmt::format("<td class=\"n\" data-value=\"{}\">{}</td>", exact, html_escape(shown));
}
std::string int_cell(int64_t v) { return num_cell(static_cast<double>(v), std::to_string(v)); }

std::string rate_cell(int64_t k, int64_t n, double z) {
  if (n == 0) return "<td class=\"n\">-</td>";
  Interval ci = wilson_interval(k, n, z);
  double r = static_cast<double>(k) / static_cast<double>(n);
  return fmt::format(
      "<td class=\"n\" data-value=\"{}\" data-low=\"{}\" data-high=\"{}\">{:.2f}% [{:.2f}, "
      "{:.2f}]</td>",
      r, ci.low, ci.high, 100 * r, 100 * ci.low, 100 * ci.high);
}

std::string report_table(const CampaignReport& r, const std::string& heading) {
  double conf = std::erf(r.t / std::sqrt(2.0));
  std::string out = fmt::format(
      "<table id=\"by-{}\">\n<tr><th>{}</th><th>trials</th><th>masked</th><th>tolerable</th>"
      "<th>sdc1</th><th>sdc5</th><th>due</th><th>SDC rate [{:.0f}% Wilson]</th><th>DUE rate</th>"
      "</tr>\n",
      r.by, html_escape(heading), 100 * conf);
  auto row = [&](const std::string& key, const OutcomeCounts& k) {
    std::string s =
        fmt::format("<tr data-key=\"{}\"><td>{}</td>", html_escape(key), html_escape(key));
    s += int_cell(k.trials);
    for (int o = 0; o < kOutcomeCount; ++o) s += int_cell(k.n[o]);
    s += rate_cell(k.sdc(), k.trials, r.t) + rate_cell(k.due(), k.trials, r.t) + "</tr>\n";
    return s;
  };
  for (const ReportRow& x : r.rows) out += row(x.key, x.counts);
  out += row("all", r.total);
  return out + "</table>\n";
}

std::string model_summary(const Graph& g) {
  std::map<std::string, int> ops;
  for (const Node& n : g.nodes()) ++ops[std::string(op_name(n.op))];
  int64_t params = 0;
  for (const Value& v : g.values())
    if (v.is_initializer()) params += v.data->numel();
  std::string inputs, outputs, op_list;
  for (ValueId v : g.runtime_inputs())
    inputs += fmt::format("{}{}: {}", inputs.empty() ? "" : ", ", g.value(v).name,
                          format_type(g.value(v)));
  for (ValueId v : g.outputs())
    outputs += fmt::format("{}{}: {}", outputs.empty() ? "" : ", ", g.value(v).name,
                           format_type(g.value(v)));
  for (const auto& [op, n] : ops)
    op_list += fmt::format("{}{} x{}", op_list.empty() ? "" : ", ", op, n);
  return "<dl class=\"facts\">\n" + fact("graph", html_escape(g.name)) +
         fact("nodes", std::to_string(g.nodes().size()), "model-nodes") +
         fact("parameters", std::to_string(params), "model-parameters") +
         fact("inputs", html_escape(inputs)) + fact("outputs", html_escape(outputs)) +
         fact("operators", html_escape(op_list)) + "</dl>\n";
}

std::string pct(double v) { return fmt::format("{:.2f}%", 100 * v); }

}  // namespace

std::string campaign_html_report(const TrialStore& store, const Graph* model,
                                 const std::string& model_note, const std::string& images_dir) {
  FG_CHECK(store.has_campaign(), DatasetError, store.path(), ": holds no campaign");
  CampaignReport layer = build_campaign_report(store, "layer");
  const CampaignRecord& c = layer.campaign;
  std::string b;
  b += fmt::format("<h1>Fault-injection campaign: {}</h1>\n",
                   html_escape(fs::path(c.model).filename().string()));
  b += "<dl class=\"facts\">\n";
  b += fact("model",
            html_escape(c.model) + " <small>(hash " + html_escape(c.model_hash) + ")</small>");
  b += fact("dataset", html_escape(c.dataset));
  b += fact("inputs",
            fmt::format("{} ({})", c.inputs,
                        c.correct_only ? "only those the fault-free model classifies correctly"
                                       : "as chosen, correct or not"));
  b += fact("trials",
            fmt::format("{} of {} planned{}", layer.total.trials, c.trials,
                        c.finished.empty() ? " (not finished)" : ""),
            "trials");
  b += fact("fault population", format_count(c.population));
  b += fact("started", html_escape(c.started));
  b += fact("finished", c.finished.empty() ? "not yet" : html_escape(c.finished));
  b += fact("faultgraph", html_escape(c.version) + " on " + html_escape(c.machine));
  b += "</dl>\n";

  b += "<h2>Results</h2>\n<dl class=\"facts headline\">\n";
  auto estimate = [&](const Estimate& e, const std::string& id) {
    return fmt::format(
        "<span id=\"{}\" data-value=\"{}\" data-low=\"{}\" data-high=\"{}\">{} [{}, {}]</span>", id,
        e.rate, e.interval.low, e.interval.high, pct(e.rate), pct(e.interval.low),
        pct(e.interval.high));
  };
  b += fact("SDC rate", estimate(layer.sdc, "sdc-rate") +
                            (layer.stratified ? " (weighted by stratum population)" : ""));
  b += fact("DUE rate", estimate(layer.due, "due-rate"));
  b += fact("margin achieved",
            fmt::format("<span id=\"margin\" data-value=\"{}\">+/- {}</span> at t = {:.3f} "
                        "(Leveugle, p = 0.5{})",
                        layer.margin, pct(layer.margin), layer.t,
                        layer.stratified ? ", worst stratum" : ""));
  b += fact(
      "recomputed per trial",
      fmt::format("<span id=\"flops-fraction\" data-value=\"{}\">{:.1f}%</span> of a forward "
                  "pass's FLOPs ({:.3g} FLOPs) on average",
                  layer.mean_flops_fraction, 100 * layer.mean_flops_fraction, c.forward_flops));
  b += "</dl>\n";

  std::vector<Picture> charts = write_campaign_charts(store, images_dir);
  b += "<h2>Charts</h2>\n";
  for (const Picture& p : charts) b += figure(p.png, p.title, p.caption, "chart-" + p.id);

  b += "<h2>Model</h2>\n";
  if (model != nullptr) {
    b += model_summary(*model);
    std::string svg = (fs::path(images_dir) / "model_sdc.svg").string();
    std::string dot = vulnerability_dot(*model, counts_by_node(store), layer.t);
    render_dot_svg(dot, svg);
    b += figure(svg, "The model coloured by SDC rate",
                "Each node with trials is filled by the SDC rate of the faults injected at it "
                "(its rate, interval and trial count under its name); grey nodes had no trials",
                "model-picture");
  } else {
    b += fmt::format("<p class=\"note\" id=\"model-note\">{}</p>\n", html_escape(model_note));
  }

  b += "<h2>Tables</h2>\n";
  const std::pair<const char*, const char*> groupings[] = {{"layer", "fault site"},
                                                           {"bit", "bit"},
                                                           {"site", "site kind"},
                                                           {"op", "operator"},
                                                           {"input", "input"}};
  for (const auto& [by, heading] : groupings) {
    CampaignReport r = by == std::string("layer") ? layer : build_campaign_report(store, by);
    b += fmt::format("<h3>By {}</h3>\n", heading) + report_table(r, heading);
  }
  b += "<h2>Campaign spec</h2>\n<pre id=\"spec\">" + html_escape(c.spec_text) + "</pre>\n";
  b += fmt::format("<p><small>Written by faultgraph {} from {}.</small></p>\n",
                   html_escape(c.version), html_escape(store.path()));
  return page("faultgraph campaign: " + fs::path(c.model).filename().string(), b);
}

std::string write_accuracy_chart(const nlohmann::json& report, const std::string& dir) {
  BarChart chart;
  chart.title = "Golden vs faulty accuracy per configuration entry";
  chart.x_label = "entry";
  chart.y_label = "top-1 accuracy";
  chart.percent = true;
  chart.y_max = 1;
  const double golden = report.at("golden").at("top1").get<double>();
  BarSeries g{"golden", {}, {}, {}, {0x7f, 0x8c, 0x8d}},
      f{"faulty", {}, {}, {}, {0xc0, 0x39, 0x2b}};
  for (const auto& e : report.at("entries")) {
    if (e.contains("error")) continue;
    chart.categories.push_back(fmt::format("{}", e.at("index").get<int>()));
    g.values.push_back(golden);
    f.values.push_back(e.at("faulty").at("top1").get<double>());
  }
  if (chart.categories.empty()) return {};
  chart.series = {g, f};
  std::string png = (fs::path(dir) / "accuracy_per_entry.png").string();
  write_chart(chart, png);
  write_chart(chart, (fs::path(dir) / "accuracy_per_entry.svg").string());
  return png;
}

std::string inject_html_report(const std::string& folder, const std::string& images_dir) {
  fs::path dir(folder);
  std::string json_path = (dir / "report.json").string();
  std::error_code ec;
  FG_CHECK(fs::is_regular_file(json_path, ec), DatasetError, folder,
           ": no report.json (not the folder of a finished `faultgraph inject` run)");
  nlohmann::json r;
  try {
    r = nlohmann::json::parse(read_bytes(json_path));
  } catch (const nlohmann::json::exception& e) {
    throw DatasetError(fmt::format("{}: not valid JSON ({})", json_path, e.what()));
  }
  try {
    std::string b;
    b += fmt::format("<h1>Fault injection: {}</h1>\n",
                     html_escape(r.at("model").get<std::string>()));
    double golden = r.at("golden").at("top1").get<double>();
    b += "<dl class=\"facts\">\n";
    b += fact("model", html_escape(r.at("model").get<std::string>()));
    b += fact("fault configuration", html_escape(r.at("config").get<std::string>()));
    b += fact("dataset", html_escape(r.at("dataset").get<std::string>()));
    b += fact("seed", html_escape(r.at("seed").dump()));
    b += fact("samples", std::to_string(r.at("golden").at("samples").get<int64_t>()));
    b += fact("golden accuracy",
              fmt::format("<span id=\"golden-accuracy\" data-value=\"{}\">{}</span> (top-5 {})",
                          golden, pct(golden), pct(r.at("golden").at("top5").get<double>())));
    b += "</dl>\n";

    b += "<h2>Faulty models</h2>\n<table id=\"entries\">\n<tr><th>#</th><th>site</th><th>fault</th>"
         "<th>accuracy</th><th>drop</th><th>changed predictions</th><th>non-finite outputs</th>"
         "<th>corrupted values</th></tr>\n";
    for (const auto& e : r.at("entries")) {
      int index = e.at("index").get<int>();
      if (e.contains("error")) {
        b += fmt::format(
            "<tr data-key=\"{}\"><td>{}</td><td colspan=\"7\" class=\"note\">error: {}</td></tr>\n",
            index, index, html_escape(e.at("error").get<std::string>()));
        continue;
      }
      double acc = e.at("faulty").at("top1").get<double>();
      b += fmt::format("<tr data-key=\"{}\"><td>{}</td><td>{}</td><td>{}</td>", index, index,
                       html_escape(e.at("site").get<std::string>()),
                       html_escape(e.at("fault").get<std::string>()));
      b += num_cell(acc, pct(acc)) +
           num_cell(e.at("accuracy_drop").get<double>(), pct(e.at("accuracy_drop").get<double>()));
      b += int_cell(e.at("changed_predictions").get<int64_t>()) +
           int_cell(e.at("faulty").at("non_finite_outputs").get<int64_t>());
      b += fmt::format("<td class=\"n\">{}/{}</td></tr>\n", e.at("corrupted_values").get<int64_t>(),
                       e.at("observed_values").get<int64_t>());
    }
    b += "</table>\n";
    std::string png = write_accuracy_chart(r, images_dir);
    if (!png.empty()) {
      b += figure(png, "Golden vs faulty accuracy per configuration entry",
                  "Top-1 accuracy of the fault-free model and of each faulty copy",
                  "chart-accuracy");
    }

    b += "<h2>Confusion matrices</h2>\n<div class=\"grid\">\n";
    auto confusion = [&](const std::string& file, const std::string& title, const std::string& id) {
      std::string p = (dir / file).string();
      if (fs::is_regular_file(p, ec)) b += figure(p, title, "", id);
    };
    confusion("golden_confusion.png", "Golden model", "confusion-golden");
    for (const auto& e : r.at("entries")) {
      if (e.contains("error")) continue;
      int index = e.at("index").get<int>();
      confusion(fmt::format("entry_{}_confusion.png", index),
                fmt::format("Entry {}: {}", index, e.at("label").get<std::string>()),
                fmt::format("confusion-{}", index));
    }

    b += "</div>\n<h2>Model pictures</h2>\n";
    std::string model_svg = (dir / "model.svg").string();
    if (fs::is_regular_file(model_svg, ec)) {
      b += "<details open><summary>Fault-free model</summary>\n" +
           figure(model_svg, "Fault-free model", "", "model-golden") + "</details>\n";
    }
    for (const auto& e : r.at("entries")) {
      if (e.contains("error")) continue;
      int index = e.at("index").get<int>();
      std::string svg = (dir / fmt::format("entry_{}.svg", index)).string();
      if (!fs::is_regular_file(svg, ec)) continue;
      b += fmt::format(
               "<details><summary>Entry {}: the faulty copy (fault layer in red)</summary>\n",
               index) +
           figure(svg, fmt::format("Entry {}", index), "", fmt::format("model-{}", index)) +
           "</details>\n";
    }
    return page("faultgraph inject: " + r.at("model").get<std::string>(), b);
  } catch (const nlohmann::json::exception& e) {
    throw DatasetError(
        fmt::format("{}: not the report of a faultgraph inject run ({})", json_path, e.what()));
  }
}

}  // namespace fg
