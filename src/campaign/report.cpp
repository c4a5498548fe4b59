#include "faultgraph/campaign/report.h"

#include <fmt/format.h>

#include <cmath>
#include <map>

#include "faultgraph/core/error.h"

namespace fg {

void OutcomeCounts::add(const std::string& outcome) {
  ++trials;
  ++n[static_cast<int>(outcome_from_name(outcome))];
}

namespace {
const char* kGroupings[] = {"layer", "bit", "site", "op", "input"};
}

CampaignReport build_campaign_report(const TrialStore& store, const std::string& by) {
  bool known = false;
  for (const char* g : kGroupings) known = known || by == g;
  FG_CHECK(known, UsageError, "--by ", by, ": must be layer, bit, site, op or input");
  CampaignReport r;
  r.campaign = store.campaign();
  r.by = by;
  std::vector<StratumRecord> strata = store.strata();
  std::vector<SiteRecord> sites = store.sites();
  r.stratified = strata.size() > 1;
  try {
    auto canon = nlohmann::json::parse(r.campaign.canonical);
    r.t = canon.at("sampling").at("t").get<double>();
  } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): keep the 95% default
  }

  std::vector<TrialRecord> trials = store.trials();
  std::map<std::string, size_t> site_rank;
  for (const auto& s : sites) site_rank[s.name] = static_cast<size_t>(s.id);
  // Rows keyed so that std::map orders them: graph order, bit number, input number.
  std::map<std::pair<int64_t, std::string>, ReportRow> rows;
  std::vector<StratumCount> sdc_strata(strata.size()), due_strata(strata.size());
  for (size_t i = 0; i < strata.size(); ++i) {
    sdc_strata[i].population = due_strata[i].population = strata[i].population;
  }
  double flops = 0;
  for (const TrialRecord& t : trials) {
    std::pair<int64_t, std::string> key;
    if (by == "layer") {
      key = {static_cast<int64_t>(site_rank.count(t.site) ? site_rank[t.site] : 1u << 30), t.site};
    } else if (by == "bit") {
      key = {t.bit, t.bit < 0 ? "value" : std::to_string(t.bit)};
    } else if (by == "site") {
      key = {0, t.kind};
    } else if (by == "op") {
      key = {0, t.op};
    } else {
      key = {t.input, std::to_string(t.input)};
    }
    ReportRow& row = rows[key];
    row.key = key.second;
    row.counts.add(t.outcome);
    row.mean_flops += t.flops;
    r.total.add(t.outcome);
    flops += t.flops;
    if (t.stratum >= 0 && static_cast<size_t>(t.stratum) < strata.size()) {
      auto& s = sdc_strata[static_cast<size_t>(t.stratum)];
      auto& d = due_strata[static_cast<size_t>(t.stratum)];
      ++s.trials;
      ++d.trials;
      s.hits += t.outcome == "sdc1" || t.outcome == "sdc5" ? 1 : 0;
      d.hits += t.outcome == "due" ? 1 : 0;
    }
  }
  for (auto& [k, row] : rows) {
    row.mean_flops /= static_cast<double>(std::max<int64_t>(1, row.counts.trials));
    r.rows.push_back(row);
  }
  double z = r.t;
  if (r.stratified) {
    r.sdc = stratified_estimate(sdc_strata, z);
    r.due = stratified_estimate(due_strata, z);
    // The worst stratum's margin: every stratum's rate is known at least this well.
    for (const auto& s : sdc_strata) {
      if (s.trials > 0)
        r.margin =
            std::max(r.margin, leveugle_margin(s.population, static_cast<double>(s.trials), r.t));
    }
  } else {
    auto n = r.total.trials;
    r.sdc = {n ? static_cast<double>(r.total.sdc()) / static_cast<double>(n) : 0.0,
             wilson_interval(r.total.sdc(), n, z)};
    r.due = {n ? static_cast<double>(r.total.due()) / static_cast<double>(n) : 0.0,
             wilson_interval(r.total.due(), n, z)};
    r.margin = leveugle_margin(r.campaign.population, static_cast<double>(n), r.t);
  }
  if (r.total.trials > 0 && r.campaign.forward_flops > 0)
    r.mean_flops_fraction = flops / static_cast<double>(r.total.trials) / r.campaign.forward_flops;
  return r;
}

namespace {
std::string pct(double v) { return fmt::format("{:.2f}%", 100 * v); }
std::string rate_ci(int64_t k, int64_t n, double z) {
  if (n == 0) return "-";
  Interval ci = wilson_interval(k, n, z);
  return fmt::format("{:6.2f}% [{:.2f}, {:.2f}]",
                     100.0 * static_cast<double>(k) / static_cast<double>(n), 100 * ci.low,
                     100 * ci.high);
}
}  // namespace

std::string format_count(double n) {
  if (!(std::fabs(n) < 9007199254740992.0) || n != std::floor(n)) return fmt::format("{:.4g}", n);
  std::string digits = fmt::format("{}", static_cast<int64_t>(std::fabs(n)));
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string format_campaign_report(const CampaignReport& r) {
  const CampaignRecord& c = r.campaign;
  std::string out;
  out += fmt::format("campaign: {} ({}), dataset {}\n", c.model, c.model_hash, c.dataset);
  out += fmt::format("inputs: {} ({})\n", c.inputs,
                     c.correct_only ? "only those the fault-free model classifies correctly"
                                    : "as chosen, correct or not");
  out += fmt::format("trials: {} of {} planned, population {} faults{}\n", r.total.trials, c.trials,
                     format_count(c.population),
                     c.finished.empty() ? " (not finished; run it again to resume)" : "");
  out += fmt::format("started {}{}  faultgraph {}  on {}\n\n", c.started,
                     c.finished.empty() ? "" : ", finished " + c.finished, c.version, c.machine);
  double conf = std::erf(r.t / std::sqrt(2.0));
  out += fmt::format("{:<36} {:>8} {:>8} {:>9} {:>7} {:>7} {:>6}  {:<26} {:<26}\n", r.by, "trials",
                     "masked", "tolerable", "sdc1", "sdc5", "due",
                     fmt::format("SDC rate [{:.0f}% Wilson]", 100 * conf), "DUE rate");
  auto line = [&](const std::string& key, const OutcomeCounts& k) {
    return fmt::format("{:<36} {:>8} {:>8} {:>9} {:>7} {:>7} {:>6}  {:<26} {:<26}\n",
                       key.size() > 36 ? key.substr(0, 33) + "..." : key, k.trials, k.n[0], k.n[1],
                       k.n[2], k.n[3], k.n[4], rate_ci(k.sdc(), k.trials, r.t),
                       rate_ci(k.due(), k.trials, r.t));
  };
  for (const auto& row : r.rows) out += line(row.key, row.counts);
  out += line("all", r.total);
  out += "\n";
  out += fmt::format("SDC rate {} [{}, {}]{}\n", pct(r.sdc.rate), pct(r.sdc.interval.low),
                     pct(r.sdc.interval.high),
                     r.stratified ? " (weighted by stratum population)" : "");
  out += fmt::format("DUE rate {} [{}, {}]\n", pct(r.due.rate), pct(r.due.interval.low),
                     pct(r.due.interval.high));
  out += fmt::format("margin achieved: +/- {} at t = {:.3f} (Leveugle, p = 0.5{})\n", pct(r.margin),
                     r.t, r.stratified ? ", worst stratum" : "");
  out += fmt::format("recomputed per trial: {:.1f}% of a forward pass's FLOPs on average\n",
                     100 * r.mean_flops_fraction);
  return out;
}

nlohmann::json campaign_report_json(const CampaignReport& r) {
  auto counts = [&](const OutcomeCounts& k) {
    nlohmann::json j{{"trials", k.trials}};
    for (int o = 0; o < kOutcomeCount; ++o) j[outcome_name(static_cast<Outcome>(o))] = k.n[o];
    Interval s = wilson_interval(k.sdc(), k.trials, r.t),
             d = wilson_interval(k.due(), k.trials, r.t);
    double n = static_cast<double>(std::max<int64_t>(1, k.trials));
    j["sdc_rate"] = static_cast<double>(k.sdc()) / n;
    j["sdc_interval"] = {s.low, s.high};
    j["due_rate"] = static_cast<double>(k.due()) / n;
    j["due_interval"] = {d.low, d.high};
    return j;
  };
  nlohmann::json j;
  const CampaignRecord& c = r.campaign;
  j["campaign"] = {{"model", c.model},
                   {"model_hash", c.model_hash},
                   {"dataset", c.dataset},
                   {"dataset_hash", c.dataset_hash},
                   {"inputs", c.inputs},
                   {"correct_only", c.correct_only},
                   {"planned_trials", c.trials},
                   {"population", c.population},
                   {"started", c.started},
                   {"finished", c.finished},
                   {"faultgraph_version", c.version},
                   {"machine", c.machine},
                   {"spec", c.spec_text}};
  j["by"] = r.by;
  j["rows"] = nlohmann::json::array();
  for (const auto& row : r.rows) {
    nlohmann::json x = counts(row.counts);
    x["key"] = row.key;
    j["rows"].push_back(x);
  }
  j["total"] = counts(r.total);
  j["stratified"] = r.stratified;
  j["sdc"] = {{"rate", r.sdc.rate}, {"interval", {r.sdc.interval.low, r.sdc.interval.high}}};
  j["due"] = {{"rate", r.due.rate}, {"interval", {r.due.interval.low, r.due.interval.high}}};
  j["margin"] = r.margin;
  j["t"] = r.t;
  j["mean_flops_fraction"] = r.mean_flops_fraction;
  return j;
}

void export_trials(const TrialStore& store, const std::string& format, std::ostream& out) {
  FG_CHECK(format == "csv" || format == "jsonl", UsageError, "--format ", format,
           ": must be csv or jsonl");
  auto num = [](double v) -> nlohmann::json {
    if (std::isnan(v)) return nullptr;
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    return v;
  };
  auto csv_num = [](double v) {
    if (std::isnan(v)) return std::string("nan");
    if (std::isinf(v)) return std::string(v > 0 ? "inf" : "-inf");
    return fmt::format("{:.9g}", v);
  };
  auto csv_text = [](const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return q + "\"";
  };
  if (format == "csv")
    out << "id,stratum,input,label,site,kind,node,op,index,elements,bit,golden_value,faulty_value,"
           "outcome,golden_class,faulty_class,max_abs_diff,first_non_finite,nodes_recomputed,"
           "flops\n";
  for (const TrialRecord& t : store.trials()) {
    if (format == "csv") {
      out << fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", t.id,
                         t.stratum, t.input, t.label, csv_text(t.site), t.kind, csv_text(t.node),
                         t.op, t.index, t.elements,
                         t.bit < 0 ? std::string() : std::to_string(t.bit), csv_num(t.golden_value),
                         csv_num(t.faulty_value), t.outcome, t.golden_class, t.faulty_class,
                         csv_num(t.max_abs_diff), csv_text(t.first_non_finite), t.nodes_recomputed,
                         csv_num(t.flops));
    } else {
      nlohmann::json j{
          {"id", t.id},
          {"stratum", t.stratum},
          {"input", t.input},
          {"label", t.label},
          {"site", t.site},
          {"kind", t.kind},
          {"node", t.node},
          {"op", t.op},
          {"index", t.index},
          {"elements", t.elements},
          {"bit", t.bit < 0 ? nlohmann::json(nullptr) : nlohmann::json(t.bit)},
          {"golden_value", num(t.golden_value)},
          {"faulty_value", num(t.faulty_value)},
          {"outcome", t.outcome},
          {"golden_class", t.golden_class},
          {"faulty_class", t.faulty_class},
          {"max_abs_diff", num(t.max_abs_diff)},
          {"first_non_finite", t.first_non_finite.empty() ? nlohmann::json(nullptr)
                                                          : nlohmann::json(t.first_non_finite)},
          {"nodes_recomputed", t.nodes_recomputed},
          {"flops", t.flops}};
      out << j.dump() << "\n";
    }
  }
}

}  // namespace fg
