#include "faultgraph/store/trial_store.h"

#include <sqlite3.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "faultgraph/core/error.h"

namespace fg {

void detail::SqliteCloser::operator()(sqlite3* db) const { sqlite3_close_v2(db); }
void detail::StatementCloser::operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }

namespace {
using Statement = std::unique_ptr<sqlite3_stmt, detail::StatementCloser>;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS campaign (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  spec TEXT NOT NULL, canonical TEXT NOT NULL,
  model TEXT NOT NULL, model_hash TEXT NOT NULL,
  dataset TEXT NOT NULL, dataset_hash TEXT NOT NULL,
  faultgraph_version TEXT NOT NULL, machine TEXT NOT NULL,
  started TEXT NOT NULL, finished TEXT,
  planned_trials INTEGER NOT NULL, population REAL NOT NULL, inputs INTEGER NOT NULL,
  correct_only INTEGER NOT NULL, forward_flops REAL NOT NULL);
CREATE TABLE IF NOT EXISTS strata (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL, population REAL NOT NULL,
  planned_trials INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sites (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, node TEXT NOT NULL,
  op TEXT NOT NULL, site_index INTEGER NOT NULL, elements INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
  id INTEGER PRIMARY KEY, stratum INTEGER NOT NULL REFERENCES strata(id),
  input INTEGER NOT NULL, label INTEGER NOT NULL,
  site TEXT NOT NULL, kind TEXT NOT NULL, node TEXT NOT NULL, op TEXT NOT NULL,
  site_index INTEGER NOT NULL, elements TEXT NOT NULL, bit INTEGER,
  golden_value REAL, faulty_value REAL,
  outcome TEXT NOT NULL CHECK (outcome IN ('masked','tolerable','sdc1','sdc5','due')),
  golden_class INTEGER NOT NULL, faulty_class INTEGER NOT NULL,
  max_abs_diff REAL, first_non_finite TEXT,
  nodes_recomputed INTEGER NOT NULL, flops REAL NOT NULL);
)sql";

std::string text_column(sqlite3_stmt* s, int i) {
  const unsigned char* t = sqlite3_column_text(s, i);
  return t ? reinterpret_cast<const char*>(t) : "";
}

// SQLite stores NaN as NULL; infinities survive.
void bind_real(sqlite3_stmt* s, int i, double v) {
  if (std::isnan(v)) {
    sqlite3_bind_null(s, i);
  } else {
    sqlite3_bind_double(s, i, v);
  }
}
double real_column(sqlite3_stmt* s, int i) {
  return sqlite3_column_type(s, i) == SQLITE_NULL ? std::nan("") : sqlite3_column_double(s, i);
}
}  // namespace

TrialStore::TrialStore(const std::string& path, bool read_only)
    : TrialStore(path, read_only ? Mode::kRead : Mode::kWrite) {}

void TrialStore::check_target(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec) || std::filesystem::file_size(path, ec) == 0 ||
      ec)
    return;
  TrialStore probe(path, Mode::kProbe);
}

TrialStore::TrialStore(const std::string& path, Mode mode) : path_(path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool read_only = mode != Mode::kWrite;
  if (mode == Mode::kRead) {
    // Named by what is there: a folder or a device was "no such campaign database".
    const fs::file_status st = fs::status(path, ec);
    FG_CHECK(st.type() != fs::file_type::directory, UsageError, path,
             ": is a folder; name a campaign database file (made by faultgraph campaign run)");
    FG_CHECK(st.type() == fs::file_type::regular || st.type() == fs::file_type::not_found ||
                 st.type() == fs::file_type::none,
             UsageError, path,
             ": is not a regular file (a device or a pipe); name a campaign database file");
    FG_CHECK(fs::is_regular_file(path, ec), UsageError, path, ": no such campaign database");
  } else {
    FG_CHECK(!fs::is_directory(path, ec), UsageError, path,
             ": is a folder; name the database file (campaign.db, say)");
  }
  sqlite3* raw = nullptr;
  // A reader opens a file it may write read-write all the same (and never writes: query_only
  // below): the last connection to close a WAL database removes its -wal and -shm files only
  // if it can write, and a read-only one left them beside every database it had read.
  const bool writable_file = ::access(path.c_str(), W_OK) == 0;
  int flags = !read_only      ? (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
              : writable_file ? SQLITE_OPEN_READWRITE
                              : SQLITE_OPEN_READONLY;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  db_.reset(raw);
  FG_CHECK(rc == SQLITE_OK, UsageError, path, ": cannot open the database (",
           raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc), ")");
  sqlite3_busy_timeout(db_.get(), 10000);  // a reader or writer elsewhere: wait, not fail
  int64_t tables = 0;
  try {
    tables = query_int("SELECT count(*) FROM sqlite_master WHERE type='table'");
  } catch (const Error&) {  // is it a database at all?
    FG_FAIL(DatasetError, path,
            ": not an SQLite database (a campaign database is made by faultgraph campaign run)");
  }
  if (read_only) exec("PRAGMA query_only=1");
  const bool ours = query_int("SELECT count(*) FROM sqlite_master WHERE name='trials'") == 1;
  if (mode == Mode::kRead) {
    FG_CHECK(ours, DatasetError, path, ": not a faultgraph campaign database (no trials table)");
    return;
  }
  // Checked before anything is written: faultgraph's tables and WAL mode must not land in
  // another program's database.
  FG_CHECK(ours || tables == 0, UsageError, path,
           ": an SQLite database of another program (its tables are not faultgraph's); name a "
           "new file for the campaign's database");
  if (mode == Mode::kWrite) {
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=NORMAL");
    exec(kSchema);
    exec("PRAGMA user_version=" + std::to_string(kTrialStoreSchema));
  }
}

TrialStore::~TrialStore() {
  try {
    if (!pending_.empty()) commit();
  } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor must not throw
  }
}

void TrialStore::exec(const std::string& sql) const {
  char* err = nullptr;
  int rc = sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &err);
  std::string msg = err ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  FG_CHECK(rc == SQLITE_OK, UsageError, path_, ": database error: ", msg);
}

int64_t TrialStore::query_int(const char* sql) const {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db_.get(), sql, -1, &raw, nullptr);
  Statement st(raw);
  FG_CHECK(rc == SQLITE_OK && sqlite3_step(st.get()) == SQLITE_ROW, UsageError, path_,
           ": database error: ", sqlite3_errmsg(db_.get()));
  return sqlite3_column_int64(st.get(), 0);
}

namespace {
Statement prepare(sqlite3* db, const std::string& path, const char* sql) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
  Statement out(s);
  FG_CHECK(rc == SQLITE_OK, DatasetError, path, ": not a faultgraph campaign database of schema ",
           kTrialStoreSchema, " (", sqlite3_errmsg(db), ")");
  return out;
}
}  // namespace

bool TrialStore::has_campaign() const {
  Statement s = prepare(db_.get(), path_, "SELECT count(*) FROM campaign");
  return sqlite3_step(s.get()) == SQLITE_ROW && sqlite3_column_int(s.get(), 0) > 0;
}

CampaignRecord TrialStore::campaign() const {
  Statement s =
      prepare(db_.get(), path_,
              "SELECT spec, canonical, model, model_hash, dataset, dataset_hash, "
              "faultgraph_version, machine, started, finished, planned_trials, population, "
              "inputs, correct_only, forward_flops FROM campaign WHERE id = 1");
  FG_CHECK(sqlite3_step(s.get()) == SQLITE_ROW, DatasetError, path_,
           ": holds no campaign (run one with faultgraph campaign run)");
  CampaignRecord c;
  c.spec_text = text_column(s.get(), 0);
  c.canonical = text_column(s.get(), 1);
  c.model = text_column(s.get(), 2);
  c.model_hash = text_column(s.get(), 3);
  c.dataset = text_column(s.get(), 4);
  c.dataset_hash = text_column(s.get(), 5);
  c.version = text_column(s.get(), 6);
  c.machine = text_column(s.get(), 7);
  c.started = text_column(s.get(), 8);
  c.finished = text_column(s.get(), 9);
  c.trials = sqlite3_column_int64(s.get(), 10);
  c.population = sqlite3_column_double(s.get(), 11);
  c.inputs = sqlite3_column_int64(s.get(), 12);
  c.correct_only = sqlite3_column_int(s.get(), 13) != 0;
  c.forward_flops = sqlite3_column_double(s.get(), 14);
  return c;
}

std::vector<StratumRecord> TrialStore::strata() const {
  Statement s = prepare(db_.get(), path_,
                        "SELECT id, name, population, planned_trials FROM strata ORDER BY id");
  std::vector<StratumRecord> out;
  while (sqlite3_step(s.get()) == SQLITE_ROW) {
    out.push_back({sqlite3_column_int(s.get(), 0), text_column(s.get(), 1),
                   sqlite3_column_double(s.get(), 2), sqlite3_column_int64(s.get(), 3)});
  }
  return out;
}

std::vector<SiteRecord> TrialStore::sites() const {
  Statement s =
      prepare(db_.get(), path_,
              "SELECT id, name, kind, node, op, site_index, elements FROM sites ORDER BY id");
  std::vector<SiteRecord> out;
  while (sqlite3_step(s.get()) == SQLITE_ROW) {
    out.push_back({sqlite3_column_int(s.get(), 0), text_column(s.get(), 1), text_column(s.get(), 2),
                   text_column(s.get(), 3), text_column(s.get(), 4), sqlite3_column_int(s.get(), 5),
                   sqlite3_column_int64(s.get(), 6)});
  }
  return out;
}

void TrialStore::create_campaign(const CampaignRecord& c, const std::vector<StratumRecord>& strata,
                                 const std::vector<SiteRecord>& sites) {
  exec("BEGIN IMMEDIATE");
  try {
    Statement s =
        prepare(db_.get(), path_,
                "INSERT INTO campaign VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?)");
    int i = 1;
    for (const std::string* t : {&c.spec_text, &c.canonical, &c.model, &c.model_hash, &c.dataset,
                                 &c.dataset_hash, &c.version, &c.machine, &c.started})
      sqlite3_bind_text(s.get(), i++, t->c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s.get(), i++, c.trials);
    sqlite3_bind_double(s.get(), i++, c.population);
    sqlite3_bind_int64(s.get(), i++, c.inputs);
    sqlite3_bind_int(s.get(), i++, c.correct_only ? 1 : 0);
    sqlite3_bind_double(s.get(), i++, c.forward_flops);
    FG_CHECK(sqlite3_step(s.get()) == SQLITE_DONE, UsageError, path_,
             ": cannot record the campaign (", sqlite3_errmsg(db_.get()), ")");
    Statement st = prepare(db_.get(), path_, "INSERT INTO strata VALUES (?, ?, ?, ?)");
    for (const auto& r : strata) {
      sqlite3_reset(st.get());
      sqlite3_bind_int(st.get(), 1, r.id);
      sqlite3_bind_text(st.get(), 2, r.name.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_double(st.get(), 3, r.population);
      sqlite3_bind_int64(st.get(), 4, r.trials);
      FG_CHECK(sqlite3_step(st.get()) == SQLITE_DONE, UsageError, path_,
               ": cannot record the strata (", sqlite3_errmsg(db_.get()), ")");
    }
    Statement ss = prepare(db_.get(), path_, "INSERT INTO sites VALUES (?, ?, ?, ?, ?, ?, ?)");
    for (const auto& r : sites) {
      sqlite3_reset(ss.get());
      sqlite3_bind_int(ss.get(), 1, r.id);
      int i = 2;
      for (const std::string* t : {&r.name, &r.kind, &r.node, &r.op})
        sqlite3_bind_text(ss.get(), i++, t->c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int(ss.get(), i++, r.index);
      sqlite3_bind_int64(ss.get(), i++, r.elements);
      FG_CHECK(sqlite3_step(ss.get()) == SQLITE_DONE, UsageError, path_,
               ": cannot record the sites (", sqlite3_errmsg(db_.get()), ")");
    }
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void TrialStore::set_finished(const std::string& when) {
  Statement s = prepare(db_.get(), path_, "UPDATE campaign SET finished = ? WHERE id = 1");
  sqlite3_bind_text(s.get(), 1, when.c_str(), -1, SQLITE_TRANSIENT);
  FG_CHECK(sqlite3_step(s.get()) == SQLITE_DONE, UsageError, path_, ": ",
           sqlite3_errmsg(db_.get()));
}

std::vector<int64_t> TrialStore::done_ids() const {
  Statement s = prepare(db_.get(), path_, "SELECT id FROM trials ORDER BY id");
  std::vector<int64_t> out;
  while (sqlite3_step(s.get()) == SQLITE_ROW) out.push_back(sqlite3_column_int64(s.get(), 0));
  return out;
}

int64_t TrialStore::trial_count() const {
  Statement s = prepare(db_.get(), path_, "SELECT count(*) FROM trials");
  return sqlite3_step(s.get()) == SQLITE_ROW ? sqlite3_column_int64(s.get(), 0) : 0;
}

void TrialStore::add(const TrialRecord& t) { pending_.push_back(t); }

void TrialStore::commit() {
  if (pending_.empty()) return;
  exec("BEGIN IMMEDIATE");
  try {
    Statement s = prepare(
        db_.get(), path_,
        "INSERT INTO trials VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    for (const TrialRecord& t : pending_) {
      sqlite3_reset(s.get());
      int i = 1;
      sqlite3_bind_int64(s.get(), i++, t.id);
      sqlite3_bind_int(s.get(), i++, t.stratum);
      sqlite3_bind_int64(s.get(), i++, t.input);
      sqlite3_bind_int64(s.get(), i++, t.label);
      for (const std::string* x : {&t.site, &t.kind, &t.node, &t.op})
        sqlite3_bind_text(s.get(), i++, x->c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int(s.get(), i++, t.index);
      sqlite3_bind_text(s.get(), i++, t.elements.c_str(), -1, SQLITE_TRANSIENT);
      if (t.bit < 0) {
        sqlite3_bind_null(s.get(), i++);
      } else {
        sqlite3_bind_int(s.get(), i++, t.bit);
      }
      bind_real(s.get(), i++, t.golden_value);
      bind_real(s.get(), i++, t.faulty_value);
      sqlite3_bind_text(s.get(), i++, t.outcome.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(s.get(), i++, t.golden_class);
      sqlite3_bind_int64(s.get(), i++, t.faulty_class);
      bind_real(s.get(), i++, t.max_abs_diff);
      if (t.first_non_finite.empty()) {
        sqlite3_bind_null(s.get(), i++);
      } else {
        sqlite3_bind_text(s.get(), i++, t.first_non_finite.c_str(), -1, SQLITE_TRANSIENT);
      }
      sqlite3_bind_int(s.get(), i++, t.nodes_recomputed);
      sqlite3_bind_double(s.get(), i++, t.flops);
      FG_CHECK(sqlite3_step(s.get()) == SQLITE_DONE, UsageError, path_, ": cannot store trial ",
               t.id, " (", sqlite3_errmsg(db_.get()), ")");
    }
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  pending_.clear();
}

std::vector<TrialRecord> TrialStore::trials() const {
  Statement s =
      prepare(db_.get(), path_,
              "SELECT id, stratum, input, label, site, kind, node, op, site_index, elements, "
              "bit, golden_value, faulty_value, outcome, golden_class, faulty_class, "
              "max_abs_diff, first_non_finite, nodes_recomputed, flops FROM trials ORDER BY id");
  std::vector<TrialRecord> out;
  while (sqlite3_step(s.get()) == SQLITE_ROW) {
    TrialRecord t;
    int i = 0;
    t.id = sqlite3_column_int64(s.get(), i++);
    t.stratum = sqlite3_column_int(s.get(), i++);
    t.input = sqlite3_column_int64(s.get(), i++);
    t.label = sqlite3_column_int64(s.get(), i++);
    t.site = text_column(s.get(), i++);
    t.kind = text_column(s.get(), i++);
    t.node = text_column(s.get(), i++);
    t.op = text_column(s.get(), i++);
    t.index = sqlite3_column_int(s.get(), i++);
    t.elements = text_column(s.get(), i++);
    t.bit = sqlite3_column_type(s.get(), i) == SQLITE_NULL ? -1 : sqlite3_column_int(s.get(), i);
    ++i;
    t.golden_value = real_column(s.get(), i++);
    t.faulty_value = real_column(s.get(), i++);
    t.outcome = text_column(s.get(), i++);
    t.golden_class = sqlite3_column_int64(s.get(), i++);
    t.faulty_class = sqlite3_column_int64(s.get(), i++);
    t.max_abs_diff = real_column(s.get(), i++);
    t.first_non_finite = text_column(s.get(), i++);
    t.nodes_recomputed = sqlite3_column_int(s.get(), i++);
    t.flops = sqlite3_column_double(s.get(), i++);
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace fg
