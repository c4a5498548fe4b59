#include "faultgraph/campaign/mpi.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <iterator>
#include <list>
#include <map>
#include <thread>

#include "faultgraph/campaign/stats.h"
#include "faultgraph/core/error.h"
#include "faultgraph/core/interrupt.h"
#include "faultgraph/core/progress.h"

#ifdef FG_HAVE_MPI
#include <mpi.h>
#endif

namespace fg {

namespace {
MpiJob g_job;
#ifdef FG_HAVE_MPI
bool g_started = false;
#endif

bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"}) {
    if (std::getenv(v) != nullptr) return true;
  }
  return false;
}
}  // namespace

bool mpi_available() {
#ifdef FG_HAVE_MPI
  return true;
#else
  return false;
#endif
}

MpiJob mpi_job() { return g_job; }

#ifndef FG_HAVE_MPI

void mpi_start(int&, char**&) {
  if (launched_by_mpi() && std::getenv("OMPI_COMM_WORLD_RANK") &&
      std::string(std::getenv("OMPI_COMM_WORLD_RANK")) != "0") {
    // Without MPI every rank would run the whole campaign into the same database.
    throw UsageError(
        "this faultgraph was built without MPI (install libopenmpi-dev and rebuild); run it "
        "without mpirun");
  }
}
void mpi_stop(bool, int) {}
std::string mpi_agree(const std::string&, bool) { return {}; }
RunSummary run_trials_mpi(Executor& exec, const TrialPlan& plan, const CampaignInputs& inputs,
                          TrialStore* store, const RunnerOptions& options) {
  return run_trials(exec, plan, inputs, store, options);
}

#else

void mpi_start(int& argc, char**& argv) {
  if (!launched_by_mpi()) return;
  int provided = 0;
  // Only the main thread calls MPI; worker threads compute trials.
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_job.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_job.size);
  g_started = true;
}

void mpi_stop(bool success, int exit_code) {
  if (!g_started) return;
  g_started = false;
  if (success || g_job.size == 1) {
    MPI_Finalize();
  } else {
    std::fflush(stdout);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, exit_code);
  }
}

std::string mpi_agree(const std::string& fingerprint, bool ready) {
  if (!g_job.active()) return {};
  // Fixed-size records: 63 characters of fingerprint and a ready flag.
  constexpr int kLen = 64;
  char mine[kLen + 1] = {};
  std::strncpy(mine, fingerprint.c_str(), kLen - 1);
  mine[kLen] = ready ? 1 : 0;
  std::vector<char> all(static_cast<size_t>(g_job.size) * (kLen + 1));
  MPI_Allgather(mine, kLen + 1, MPI_CHAR, all.data(), kLen + 1, MPI_CHAR, MPI_COMM_WORLD);
  const char* root = all.data();
  for (int r = 0; r < g_job.size; ++r) {
    const char* theirs = all.data() + static_cast<size_t>(r) * (kLen + 1);
    if (theirs[kLen] == 0)
      return r == 0 ? "rank 0 stopped (its error is above)"
                    : fmt::format("rank {} could not prepare the campaign (its error is above)", r);
    if (std::strncmp(theirs, root, kLen) != 0)
      return fmt::format(
          "rank {} sees another model or other inputs than rank 0 (hash {} vs {}): every rank "
          "must read the same model file and dataset",
          r, std::string(theirs, strnlen(theirs, kLen)), std::string(root, strnlen(root, kLen)));
  }
  return {};
}

namespace {

constexpr int kTagRequest = 1;  // rank -> 0: the records of its last unit (or none)
constexpr int kTagUnit = 2;     // 0 -> rank: [input, trial ids...]; empty: no more work
constexpr int kPrefetch = 3;    // requests a rank keeps open

// TrialRecords as bytes: numbers in native layout (every rank runs the same binary on the
// same kind of machine), strings length-prefixed.
class Writer {
 public:
  template <typename T>
  void put(const T& v) {
    const char* p = reinterpret_cast<const char*>(&v);
    bytes_.insert(bytes_.end(), p, p + sizeof v);
  }
  void put(const std::string& s) {
    put(static_cast<uint32_t>(s.size()));
    bytes_.insert(bytes_.end(), s.begin(), s.end());
  }
  std::vector<char>& bytes() { return bytes_; }

 private:
  std::vector<char> bytes_;
};

class MessageReader {
 public:
  MessageReader(const char* p, size_t n) : p_(p), end_(p + n) {}
  template <typename T>
  void get(T& v) {
    need(sizeof v);
    std::memcpy(&v, p_, sizeof v);
    p_ += sizeof v;
  }
  void get(std::string& s) {
    uint32_t n = 0;
    get(n);
    need(n);
    s.assign(p_, n);
    p_ += n;
  }
  bool done() const { return p_ == end_; }

 private:
  void need(size_t n) const {
    FG_ASSERT(static_cast<size_t>(end_ - p_) >= n, "MPI: a truncated message of records");
  }
  const char* p_;
  const char* end_;
};

void encode(Writer& w, const TrialRecord& t) {
  w.put(t.id);
  w.put(t.stratum);
  w.put(t.input);
  w.put(t.label);
  w.put(t.site);
  w.put(t.kind);
  w.put(t.node);
  w.put(t.op);
  w.put(t.index);
  w.put(t.elements);
  w.put(t.bit);
  w.put(t.golden_value);
  w.put(t.faulty_value);
  w.put(t.outcome);
  w.put(t.golden_class);
  w.put(t.faulty_class);
  w.put(t.max_abs_diff);
  w.put(t.first_non_finite);
  w.put(t.nodes_recomputed);
  w.put(t.flops);
}

TrialRecord decode(MessageReader& r) {
  TrialRecord t;
  r.get(t.id);
  r.get(t.stratum);
  r.get(t.input);
  r.get(t.label);
  r.get(t.site);
  r.get(t.kind);
  r.get(t.node);
  r.get(t.op);
  r.get(t.index);
  r.get(t.elements);
  r.get(t.bit);
  r.get(t.golden_value);
  r.get(t.faulty_value);
  r.get(t.outcome);
  r.get(t.golden_class);
  r.get(t.faulty_class);
  r.get(t.max_abs_diff);
  r.get(t.first_non_finite);
  r.get(t.nodes_recomputed);
  r.get(t.flops);
  return t;
}

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Waits for `req` while answering Ctrl-C: a blocking MPI call would not see the signal.
void wait(MPI_Request& req) {
  int flag = 0;
  MPI_Test(&req, &flag, MPI_STATUS_IGNORE);
  while (!flag) {
    check_interrupt();
    std::this_thread::sleep_for(std::chrono::microseconds(20));
    MPI_Test(&req, &flag, MPI_STATUS_IGNORE);
  }
}

struct Unit {
  int64_t input = 0;
  std::vector<int64_t> ids;
};

// Computes units: keeps the golden run of the last input.
class UnitRunner {
 public:
  UnitRunner(Executor& exec, const TrialPlan& plan, const CampaignInputs& inputs,
             const RunnerOptions& o)
      : exec_(exec), plan_(plan), inputs_(inputs), o_(o), batch_(default_batch(o)) {}

  // The unit's records, computed in slices with `between` called after each: MPI moves a
  // large message only while both sides call into it, so a rank computing for long would
  // hold up the transfer of its last results (and rank 0 would keep others waiting).
  std::vector<TrialRecord> run(const Unit& u, const std::function<void()>& between) {
    if (!golden_ || input_ != u.input) {
      golden_.reset();
      golden_.emplace(exec_.run_cached({inputs_.images[u.input].unsqueeze(0)},
                                       inputs_.ids[static_cast<size_t>(u.input)]));
      input_ = u.input;
    }
    std::vector<Trial> trials;
    for (int64_t id : u.ids) trials.push_back(plan_.trial(id));
    std::vector<TrialRecord> out;
    const size_t slice = std::max(batch_ * static_cast<size_t>(workers()), trials.size() / 8);
    for (size_t i = 0; i < trials.size(); i += slice) {
      std::vector<TrialRecord> part =
          run_trials_on(exec_, *golden_, plan_, inputs_, o_.recompute, trials, i,
                        std::min(trials.size(), i + slice), workers(), batch_);
      std::move(part.begin(), part.end(), std::back_inserter(out));
      between();
    }
    return out;
  }
  int workers() const { return o_.workers > 0 ? o_.workers : default_workers(); }
  size_t batch() const { return batch_; }
  double forward_flops() {
    if (!golden_)
      golden_.emplace(exec_.run_cached({inputs_.images[0].unsqueeze(0)}, inputs_.ids[0])),
          input_ = 0;
    return golden_->forward_flops();
  }

 private:
  Executor& exec_;
  const TrialPlan& plan_;
  const CampaignInputs& inputs_;
  const RunnerOptions& o_;
  size_t batch_;
  std::optional<GoldenCache> golden_;
  int64_t input_ = -1;
};

// Rank 0: the units still to run, in run_trials' order (blocks of ids, by input inside).
std::deque<Unit> make_units(const TrialPlan& plan, const std::vector<bool>& skip, int64_t todo,
                            size_t chunk) {
  std::deque<Unit> units;
  const int64_t total = plan.trials(), block = trial_block(plan);
  int64_t taken = 0;
  for (int64_t b0 = 0; b0 < total && taken < todo; b0 += block) {
    std::map<int64_t, std::vector<int64_t>> by_input;
    for (int64_t id = b0; id < std::min(total, b0 + block); ++id) {
      if (!skip[static_cast<size_t>(id)]) by_input[plan.trial(id).input].push_back(id);
    }
    for (auto& [input, ids] : by_input) {
      for (size_t i = 0; i < ids.size() && taken < todo; i += chunk) {
        Unit u{input, {}};
        for (size_t j = i; j < std::min(ids.size(), i + chunk) && taken < todo; ++j, ++taken)
          u.ids.push_back(ids[j]);
        units.push_back(std::move(u));
      }
    }
  }
  return units;
}

RunSummary run_worker(UnitRunner& runner) {
  RunSummary sum;
  double coord = 0, busy = 0;
  std::vector<char> out;  // the request being sent (its buffer must live until sent)
  MPI_Request send = MPI_REQUEST_NULL;
  auto request = [&](std::vector<char> bytes) {
    auto t = Clock::now();
    if (send != MPI_REQUEST_NULL) wait(send);
    out = std::move(bytes);
    MPI_Isend(out.data(), static_cast<int>(out.size()), MPI_CHAR, 0, kTagRequest, MPI_COMM_WORLD,
              &send);
    coord += since(t);
  };
  // kPrefetch requests at first: one unit to compute, the others queued behind it, so that
  // a rank never waits for rank 0 to answer.
  for (int i = 0; i < kPrefetch; ++i) request({});
  int outstanding = kPrefetch;
  while (outstanding > 0) {
    auto t = Clock::now();
    MPI_Status st;
    int flag = 0;
    while (!flag) {
      MPI_Iprobe(0, kTagUnit, MPI_COMM_WORLD, &flag, &st);
      if (!flag) {
        check_interrupt();
        std::this_thread::sleep_for(std::chrono::microseconds(20));
      }
    }
    int n = 0;
    MPI_Get_count(&st, MPI_INT64_T, &n);
    std::vector<int64_t> msg(static_cast<size_t>(n));
    MPI_Recv(msg.data(), n, MPI_INT64_T, 0, kTagUnit, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    coord += since(t);
    --outstanding;
    if (msg.empty()) continue;  // no more work for this request
    Unit u{msg[0], std::vector<int64_t>(msg.begin() + 1, msg.end())};
    auto t1 = Clock::now();
    std::vector<TrialRecord> recs = runner.run(u, [&] {
      int done = 0;
      if (send != MPI_REQUEST_NULL) MPI_Test(&send, &done, MPI_STATUS_IGNORE);
    });
    busy += since(t1);
    auto t2 = Clock::now();
    Writer w;
    for (const TrialRecord& r : recs) encode(w, r);
    coord += since(t2);
    sum.ran += static_cast<int64_t>(recs.size());
    request(std::move(w.bytes()));
    ++outstanding;
  }
  if (send != MPI_REQUEST_NULL) wait(send);
  sum.trial_seconds = busy;
  sum.coordination_seconds = coord;
  return sum;
}

}  // namespace

RunSummary run_trials_mpi(Executor& exec, const TrialPlan& plan, const CampaignInputs& inputs,
                          TrialStore* store, const RunnerOptions& o) {
  if (!g_job.active()) return run_trials(exec, plan, inputs, store, o);
  at::NoGradGuard no_grad;
  UnitRunner runner(exec, plan, inputs, o);
  // Every rank agrees on the unit size: it depends on the model only.
  const size_t chunk = static_cast<size_t>(16 * runner.workers()) * runner.batch();
  if (g_job.rank != 0) {
    RunSummary mine = run_worker(runner);
    double local[2] = {mine.trial_seconds, mine.coordination_seconds}, dummy[2];
    MPI_Reduce(local, dummy, 2, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    return mine;
  }

  FG_CHECK(store != nullptr, InternalError, "rank 0 runs an MPI campaign without its database");
  RunSummary sum;
  sum.ranks = g_job.size;
  int64_t todo = 0;
  std::vector<bool> skip = trials_to_skip(plan, store, o, sum.already_done, todo);
  std::deque<Unit> units = make_units(plan, skip, todo, chunk);
  const bool computes = g_job.size <= 4;
  const double forward = runner.forward_flops();
  Progress progress(fmt::format("campaign ({} ranks)", g_job.size), todo, "trials");
  if (!o.progress) progress.finish();
  auto start = Clock::now();
  auto last_commit = start;
  int64_t sdc = 0;
  double coord = 0, busy = 0;
  // Per rank: units handed out and not yet returned, requests answered.
  std::vector<int64_t> in_flight(static_cast<size_t>(g_job.size), 0),
      requests(static_cast<size_t>(g_job.size), 0), returned(static_cast<size_t>(g_job.size), 0);

  auto take = [&](const std::vector<TrialRecord>& recs) {
    for (const TrialRecord& rec : recs) {
      Outcome oc = outcome_from_name(rec.outcome);
      ++sum.outcomes[static_cast<int>(oc)];
      sdc += oc == Outcome::kSdc1 || oc == Outcome::kSdc5 ? 1 : 0;
      sum.flops += rec.flops;
      ++sum.ran;
      store->add(rec);
    }
    auto now = Clock::now();
    if (static_cast<int64_t>(store->pending()) >= o.commit_trials ||
        now - last_commit >= std::chrono::duration<double>(o.commit_seconds)) {
      store->commit();
      last_commit = now;
    }
    if (sum.ran > 0) {
      Interval ci = wilson_interval(sdc, sum.ran);
      progress.set_label(fmt::format(
          "campaign ({} ranks)  SDC {:.2f}% [{:.2f}, {:.2f}]  recomputed {:.1f}% of a forward",
          g_job.size, 100.0 * static_cast<double>(sdc) / static_cast<double>(sum.ran), 100 * ci.low,
          100 * ci.high, 100 * sum.flops / static_cast<double>(sum.ran) / std::max(forward, 1.0)));
    }
    progress.advance(static_cast<int64_t>(recs.size()));
  };
  // Answers every request that has arrived: stores its records, replies with the next unit
  // (or an empty one: no more work). Sends are blocking but small.
  // Requests whose records are still arriving (received without blocking: the sender's
  // side moves them while it computes, between its slices).
  struct Incoming {
    std::vector<char> bytes;
    MPI_Request req = MPI_REQUEST_NULL;
  };
  std::list<Incoming> incoming;
  struct Outgoing {
    std::vector<int64_t> ids;
    MPI_Request req = MPI_REQUEST_NULL;
  };
  std::list<Outgoing> outgoing;
  // Answers every request that has arrived with the next unit (or an empty one: no more
  // work), and stores the records that have come in.
  auto serve = [&]() {
    auto t = Clock::now();
    for (;;) {
      int flag = 0;
      MPI_Status st;
      MPI_Iprobe(MPI_ANY_SOURCE, kTagRequest, MPI_COMM_WORLD, &flag, &st);
      if (!flag) break;
      int n = 0;
      MPI_Get_count(&st, MPI_CHAR, &n);
      Incoming& in = incoming.emplace_back();
      in.bytes.resize(static_cast<size_t>(n));
      MPI_Irecv(in.bytes.data(), n, MPI_CHAR, st.MPI_SOURCE, kTagRequest, MPI_COMM_WORLD, &in.req);
      size_t r = static_cast<size_t>(st.MPI_SOURCE);
      ++requests[r];
      if (requests[r] > kPrefetch) {  // every request after the first ones returns a unit
        --in_flight[r];
        ++returned[r];
      }
      std::vector<int64_t> reply;
      if (!units.empty()) {
        Unit u = std::move(units.front());
        units.pop_front();
        reply.push_back(u.input);
        reply.insert(reply.end(), u.ids.begin(), u.ids.end());
        ++in_flight[r];
      }
      // Not a blocking send: the rank may be computing, and its side of the transfer
      // only moves when it calls MPI (measured: blocking sends held rank 0 for seconds).
      Outgoing& o = outgoing.emplace_back();
      o.ids = std::move(reply);
      MPI_Isend(o.ids.data(), static_cast<int>(o.ids.size()), MPI_INT64_T, st.MPI_SOURCE, kTagUnit,
                MPI_COMM_WORLD, &o.req);
    }
    for (auto it = outgoing.begin(); it != outgoing.end();) {
      int done = 0;
      MPI_Test(&it->req, &done, MPI_STATUS_IGNORE);
      it = done ? outgoing.erase(it) : std::next(it);
    }
    for (auto it = incoming.begin(); it != incoming.end();) {
      int done = 0;
      MPI_Test(&it->req, &done, MPI_STATUS_IGNORE);
      if (!done) {
        ++it;
        continue;
      }
      std::vector<TrialRecord> recs;
      MessageReader rd(it->bytes.data(), it->bytes.size());
      while (!rd.done()) recs.push_back(decode(rd));
      it = incoming.erase(it);
      coord += since(t);
      take(recs);
      t = Clock::now();
    }
    coord += since(t);
  };
  auto all_done = [&]() {
    if (!units.empty() || !incoming.empty() || !outgoing.empty()) return false;
    for (int r = 1; r < g_job.size; ++r) {
      size_t i = static_cast<size_t>(r);
      // Every unit back, and every request the rank will ever send (kPrefetch + one per
      // unit) answered.
      if (in_flight[i] != 0 || requests[i] != kPrefetch + returned[i]) return false;
    }
    return true;
  };

  try {
    while (!all_done()) {
      check_interrupt();
      if (!computes || units.empty()) {
        // Nothing of its own to compute: waiting for the others' last units (or only
        // coordinating). That time is the job's tail or rank 0's role, not a cost per trial.
        double before = coord;
        serve();
        coord = before;
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        continue;
      }
      {
        // Its own unit in slices, answering requests in between: the other ranks' queues
        // never run dry while rank 0 computes. (Taken before serving: serving may hand out
        // the last unit.)
        Unit u = std::move(units.front());
        units.pop_front();
        serve();
        auto t = Clock::now();
        double served = coord;
        std::vector<TrialRecord> recs = runner.run(u, serve);
        busy += since(t) - (coord - served);
        take(recs);
      }
    }
  } catch (const Interrupted&) {
    store->commit();  // every trial received so far; resume runs the rest (any rank count)
    progress.finish();
    fmt::print(stderr,
               "faultgraph: the MPI job is stopping (killed, or a rank failed: mpirun names it); "
               "{} trials are stored in {}; run the same command, at any rank count, to resume\n",
               store->trial_count(), store->path());
    throw;
  }
  store->commit();
  progress.finish();
  sum.seconds = since(start);
  double local[2] = {busy, coord}, total[2] = {0, 0};
  MPI_Reduce(local, total, 2, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
  sum.trial_seconds = total[0];
  sum.coordination_seconds = total[1];
  return sum;
}

#endif

}  // namespace fg
