// The campaign results store: one SQLite database (WAL mode, so readers work while a
// campaign writes), one row per trial, written in transactions of many trials. The schema
// is documented in docs/campaigns.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace fg {

struct CampaignRecord {
  std::string spec_text, canonical, model, model_hash, dataset, dataset_hash, version, machine;
  std::string started, finished;  // ISO 8601 UTC; finished empty while running
  int64_t trials = 0;             // planned
  double population = 0;
  int64_t inputs = 0;
  bool correct_only = true;
  double forward_flops = 0;  // of one forward pass at batch 1
};

struct StratumRecord {
  int id = 0;
  std::string name;
  double population = 0;
  int64_t trials = 0;
};

struct SiteRecord {  // a fault site, in graph order (id)
  int id = 0;
  std::string name, kind, node, op;
  int index = 0;
  int64_t elements = 0;
};

struct TrialRecord {
  int64_t id = 0;
  int stratum = 0;
  int64_t input = 0;  // dataset index
  int64_t label = 0;
  std::string site, kind, node, op;
  int index = 0;
  std::string elements;  // flat indices at batch 1, space-separated
  int bit = -1;
  double golden_value = 0, faulty_value = 0;   // of the first corrupted element
  std::string outcome;                         // masked, tolerable, sdc1, sdc5, due
  int64_t golden_class = 0, faulty_class = 0;  // faulty -1: non-finite scores
  double max_abs_diff = 0;                     // of the output logits (inf/NaN for DUE)
  std::string first_non_finite;                // node name, empty when none
  int nodes_recomputed = 0;
  double flops = 0;  // recomputed
};

namespace detail {
struct SqliteCloser {
  void operator()(sqlite3* db) const;
};
struct StatementCloser {
  void operator()(sqlite3_stmt* s) const;
};
}  // namespace detail

class TrialStore {
 public:
  // Opens (creating when absent) the database. `read_only`: for reports and exports.
  // UsageError naming the path when it cannot; DatasetError when it is not a campaign
  // database.
  // A database of another program (tables, none of them faultgraph's) is refused, and left
  // as it was.
  explicit TrialStore(const std::string& path, bool read_only = false);
  ~TrialStore();
  // Throws what opening `path` to write a campaign would (not SQLite, another program's
  // database) without changing the file; nothing when the file is absent or empty. For
  // callers that print before they open the store.
  static void check_target(const std::string& path);
  TrialStore(const TrialStore&) = delete;
  TrialStore& operator=(const TrialStore&) = delete;

  // The campaign this database holds, if any.
  bool has_campaign() const;
  CampaignRecord campaign() const;
  std::vector<StratumRecord> strata() const;
  std::vector<SiteRecord> sites() const;
  // Records a new campaign (the database must be empty of one).
  void create_campaign(const CampaignRecord& c, const std::vector<StratumRecord>& strata,
                       const std::vector<SiteRecord>& sites);
  void set_finished(const std::string& when);

  // Ids of the trials already stored.
  std::vector<int64_t> done_ids() const;
  int64_t trial_count() const;
  // Buffers a trial; commit() writes the buffered ones in one transaction.
  void add(const TrialRecord& t);
  void commit();
  size_t pending() const { return pending_.size(); }

  // Every stored trial, by id.
  std::vector<TrialRecord> trials() const;
  const std::string& path() const { return path_; }

 private:
  enum class Mode { kWrite, kRead, kProbe };
  TrialStore(const std::string& path, Mode mode);
  void exec(const std::string& sql) const;
  int64_t query_int(const char* sql) const;
  std::string path_;
  std::unique_ptr<sqlite3, detail::SqliteCloser> db_;
  std::vector<TrialRecord> pending_;
};

// Schema version written into the database (PRAGMA user_version).
inline constexpr int kTrialStoreSchema = 1;

}  // namespace fg
