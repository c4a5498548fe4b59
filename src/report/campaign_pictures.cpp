#include "faultgraph/report/campaign_pictures.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>

#include "faultgraph/ir/dump.h"
#include "faultgraph/ir/topo.h"
#include "faultgraph/report/charts.h"

namespace fg {

namespace {

const Rgb kSdcColor{0xc0, 0x39, 0x2b}, kDueColor{0x4a, 0x3a, 0x8c};

double rate(int64_t k, int64_t n) {
  return n > 0 ? static_cast<double>(k) / static_cast<double>(n) : 0.0;
}

// SDC and DUE rate per row of a report, with Wilson intervals.
BarChart rate_chart(const CampaignReport& r, const std::string& title, const std::string& x_label) {
  BarChart c;
  c.title = title;
  c.x_label = x_label;
  c.y_label = "rate";
  c.percent = true;
  double conf = std::erf(r.t / std::sqrt(2.0));
  c.note = fmt::format("{} trials; error bars: {:.0f}% Wilson score intervals", r.total.trials,
                       100 * conf);
  BarSeries sdc{"SDC", {}, {}, {}, kSdcColor}, due{"DUE", {}, {}, {}, kDueColor};
  for (const ReportRow& row : r.rows) {
    c.categories.push_back(row.key);
    const OutcomeCounts& k = row.counts;
    Interval s = wilson_interval(k.sdc(), k.trials, r.t),
             d = wilson_interval(k.due(), k.trials, r.t);
    sdc.values.push_back(rate(k.sdc(), k.trials));
    sdc.low.push_back(s.low);
    sdc.high.push_back(s.high);
    due.values.push_back(rate(k.due(), k.trials));
    due.low.push_back(d.low);
    due.high.push_back(d.high);
  }
  c.series = {sdc, due};
  return c;
}

Picture write_both(const BarChart& c, const std::string& dir, const std::string& id,
                   const std::string& caption) {
  Picture p{id, c.title, caption, (std::filesystem::path(dir) / (id + ".png")).string(),
            (std::filesystem::path(dir) / (id + ".svg")).string()};
  write_chart(c, p.png);
  write_chart(c, p.svg);
  return p;
}

}  // namespace

std::vector<Picture> write_campaign_charts(const TrialStore& store, const std::string& dir) {
  std::vector<Picture> out;
  CampaignReport layer = build_campaign_report(store, "layer");
  if (layer.total.trials == 0) return out;
  out.push_back(write_both(
      rate_chart(layer, "SDC and DUE rate per fault site", "site (graph order)"), dir, "by_layer",
      "Silent data corruption (sdc1 + sdc5) and detected unrecoverable "
      "errors (non-finite outputs) per fault site, in the model's order."));
  CampaignReport bit = build_campaign_report(store, "bit");
  bool has_bits = std::any_of(bit.rows.begin(), bit.rows.end(),
                              [](const ReportRow& r) { return r.key != "value"; });
  if (has_bits) {
    out.push_back(write_both(rate_chart(bit, "SDC and DUE rate per bit position", "bit"), dir,
                             "by_bit",
                             "Bit 0 is the least significant; for float32, bits 23-30 are the "
                             "exponent and 31 the sign."));
  }
  CampaignReport op = build_campaign_report(store, "op");
  out.push_back(write_both(rate_chart(op, "SDC and DUE rate per operator type", "operator"), dir,
                           "by_op", "Trials grouped by the operator type of the faulted node."));
  CampaignReport site = build_campaign_report(store, "site");
  BarChart stack;
  stack.title = "Outcomes per site kind";
  stack.note = fmt::format("{} trials", site.total.trials);
  stack.x_label = "site kind";
  stack.y_label = "share of trials";
  stack.percent = true;
  stack.stacked = true;
  stack.y_max = 1;
  for (const ReportRow& row : site.rows) stack.categories.push_back(row.key);
  for (int o = 0; o < kOutcomeCount; ++o) {
    std::string name = outcome_name(static_cast<Outcome>(o));
    BarSeries s{name, {}, {}, {}, outcome_color(name)};
    for (const ReportRow& row : site.rows)
      s.values.push_back(rate(row.counts.n[o], row.counts.trials));
    stack.series.push_back(s);
  }
  out.push_back(write_both(stack, dir, "by_site_kind",
                           "Share of each outcome class among the trials of each site kind."));
  return out;
}

std::map<std::string, OutcomeCounts> counts_by_node(const TrialStore& store) {
  std::map<std::string, OutcomeCounts> out;
  for (const TrialRecord& t : store.trials()) out[t.node].add(t.outcome);
  return out;
}

namespace {
// A sequential scale (light to dark orange-red) at t in [0, 1].
std::string scale_color(double t) {
  static const std::array<Rgb, 5> stops{Rgb{0xff, 0xf5, 0xeb}, Rgb{0xfd, 0xd0, 0xa2},
                                        Rgb{0xfd, 0x8d, 0x3c}, Rgb{0xd9, 0x48, 0x01},
                                        Rgb{0x8c, 0x2d, 0x04}};
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0) * (stops.size() - 1);
  size_t i = std::min(static_cast<size_t>(t), stops.size() - 2);
  double f = t - static_cast<double>(i);
  auto mix = [&](uint8_t a, uint8_t b) { return static_cast<int>(std::lround(a + (b - a) * f)); };
  return fmt::format("#{:02x}{:02x}{:02x}", mix(stops[i].r, stops[i + 1].r),
                     mix(stops[i].g, stops[i + 1].g), mix(stops[i].b, stops[i + 1].b));
}
}  // namespace

std::string vulnerability_dot(const Graph& model,
                              const std::map<std::string, OutcomeCounts>& counts, double z) {
  double top = 0;
  for (const auto& [name, k] : counts) top = std::max(top, rate(k.sdc(), k.trials));
  if (!(top > 0)) top = 1;
  DotOptions o;
  o.show_shapes = false;
  for (const Node& n : model.nodes()) o.fill[n.name] = "#f2f2f2";
  for (const auto& [name, k] : counts) {
    if (k.trials == 0) continue;
    double r = rate(k.sdc(), k.trials);
    Interval ci = wilson_interval(k.sdc(), k.trials, z);
    o.fill[name] = scale_color(r / top);
    o.note[name] = fmt::format("SDC {:.1f}% [{:.1f}, {:.1f}]  n={}", 100 * r, 100 * ci.low,
                               100 * ci.high, k.trials);
    o.marked.insert(name);
  }
  o.legend_title = "SDC rate";
  for (int i = 4; i >= 0; --i) {
    double t = i / 4.0;
    o.legend.emplace_back(fmt::format("{:.1f}%", 100 * top * t), scale_color(t));
  }
  o.legend.emplace_back("no trials", "#f2f2f2");
  return to_dot(model, o);
}

}  // namespace fg
