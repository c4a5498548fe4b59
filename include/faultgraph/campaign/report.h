// What a campaign database says: outcome counts and rates per stratum of interest (layer,
// bit, site kind, op type, input) with Wilson intervals, the overall rates (weighted by
// stratum population when sampling was stratified) and the margin achieved; and the trial
// table exported for pandas (CSV, JSON lines).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "faultgraph/campaign/runner.h"
#include "faultgraph/campaign/stats.h"
#include "faultgraph/store/trial_store.h"

namespace fg {

struct OutcomeCounts {
  int64_t trials = 0;
  int64_t n[kOutcomeCount] = {};
  int64_t sdc() const {
    return n[static_cast<int>(Outcome::kSdc1)] + n[static_cast<int>(Outcome::kSdc5)];
  }
  int64_t due() const { return n[static_cast<int>(Outcome::kDue)]; }
  void add(const std::string& outcome);
};

struct ReportRow {
  std::string key;
  OutcomeCounts counts;
  double mean_flops = 0;
};

struct CampaignReport {
  CampaignRecord campaign;
  std::string by;  // layer, bit, site, op, input
  std::vector<ReportRow> rows;
  OutcomeCounts total;
  bool stratified = false;
  Estimate sdc, due;  // overall (population-weighted over strata when stratified)
  double margin = 0;  // Leveugle margin achieved (p = 0.5, the plan's t)
  double t = 1.959963984540054;
  double mean_flops_fraction = 0;  // recomputed FLOPs per trial / a forward's
};

// UsageError for an unknown `by`.
CampaignReport build_campaign_report(const TrialStore& store, const std::string& by);
std::string format_campaign_report(const CampaignReport& r);
// A count such as a fault population, exact with thousands separators ("97,807,700");
// past 2^53, where a double no longer holds every integer, 4 significant digits.
std::string format_count(double n);
nlohmann::json campaign_report_json(const CampaignReport& r);

// Every trial row, in id order, with a header (CSV) or one JSON object per line.
void export_trials(const TrialStore& store, const std::string& format, std::ostream& out);

}  // namespace fg
