#include "faultgraph/campaign/runner.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <omp.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "faultgraph/campaign/mpi.h"
#include "faultgraph/campaign/stats.h"
#include "faultgraph/core/error.h"
#include "faultgraph/core/interrupt.h"
#include "faultgraph/core/progress.h"
#include "faultgraph/fault/rng.h"
#include "faultgraph/ir/dump.h"

namespace fg {

std::string outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kMasked:
      return "masked";
    case Outcome::kTolerable:
      return "tolerable";
    case Outcome::kSdc1:
      return "sdc1";
    case Outcome::kSdc5:
      return "sdc5";
    case Outcome::kDue:
      return "due";
  }
  return "?";
}

Outcome outcome_from_name(const std::string& name) {
  for (int k = 0; k < kOutcomeCount; ++k) {
    if (outcome_name(static_cast<Outcome>(k)) == name) return static_cast<Outcome>(k);
  }
  return Outcome::kMasked;
}

bool recompute_from_name(const std::string& name, Recompute& out) {
  if (name == "full") {
    out = Recompute::kFull;
  } else if (name == "downstream") {
    out = Recompute::kDownstream;
  } else if (name == "cone") {
    out = Recompute::kCone;
  } else {
    return false;
  }
  return true;
}

namespace {
bool finite(const at::Tensor& t) {
  return !t.is_floating_point() || t.isfinite().all().item<bool>();
}

// Top-1 class of one sample's scores (batch 1); -1 when a score is not finite.
int64_t top1(const at::Tensor& scores) {
  at::Tensor s = scores.reshape({-1});
  if (!finite(s)) return -1;
  return s.argmax().item<int64_t>();
}
}  // namespace

Outcome classify(const std::vector<at::Tensor>& golden, const std::vector<at::Tensor>& faulty) {
  FG_ASSERT(golden.size() == faulty.size() && !golden.empty(), "classify: output counts differ");
  bool identical = true;
  for (size_t i = 0; i < golden.size(); ++i)
    identical = identical && bitwise_equal(golden[i], faulty[i]);
  if (identical) return Outcome::kMasked;
  for (const auto& t : faulty) {
    if (!finite(t)) return Outcome::kDue;
  }
  int64_t g = top1(golden[0]);
  at::Tensor f = faulty[0].reshape({-1});
  if (f.argmax().item<int64_t>() == g) return Outcome::kTolerable;
  int64_t k = std::min<int64_t>(5, f.numel());
  at::Tensor top = std::get<1>(f.topk(k));
  return top.eq(g).any().item<bool>() ? Outcome::kSdc1 : Outcome::kSdc5;
}

namespace {
std::string hex(uint64_t h) { return fmt::format("{:016x}", h); }

// FNV-1a over bytes, eight at a time folded through splitmix: fast, stable across runs.
struct Hasher {
  uint64_t h = 0xcbf29ce484222325ULL;
  void bytes(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      h = stream_id(h, w, 0x9e37);
    }
    for (; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
  }
  void text(const std::string& s) {
    uint64_t n = s.size();
    bytes(&n, sizeof n);
    bytes(s.data(), s.size());
  }
  void tensor(const at::Tensor& t) {
    at::Tensor c = t.contiguous();
    text(c10::toString(c.scalar_type()));
    for (int64_t d : c.sizes()) bytes(&d, sizeof d);
    bytes(c.data_ptr(), c.nbytes());
  }
};
}  // namespace

std::string graph_hash(const Graph& g) {
  Hasher h;
  h.text(dump_text(g));
  for (const Value& v : g.values()) {
    if (v.is_initializer()) h.tensor(*v.data);
  }
  return hex(h.h);
}

std::string inputs_hash(const CampaignInputs& in) {
  Hasher h;
  for (int64_t id : in.ids) h.bytes(&id, sizeof id);
  h.tensor(in.images);
  h.tensor(in.labels);
  return hex(h.h);
}

namespace {
CampaignInputs gather(Executor& exec, const LabelledImages& data, const std::vector<int64_t>& ids,
                      std::vector<int64_t> golden) {
  CampaignInputs in;
  in.ids = ids;
  at::Tensor idx = at::tensor(ids, at::kLong);
  in.images = data.images.index_select(0, idx);
  in.labels = data.labels.index_select(0, idx);
  in.golden_class = std::move(golden);
  return in;
}

int64_t golden_class_of(Executor& exec, const at::Tensor& image, int64_t index) {
  at::NoGradGuard no_grad;
  auto out = exec.run({image.unsqueeze(0)}, index);
  FG_CHECK(!out.empty(), UsageError, "the model has no outputs");
  return top1(out[0]);
}
}  // namespace

CampaignInputs select_inputs(Executor& exec, const LabelledImages& data, const InputSpec& spec,
                             uint64_t seed) {
  const int64_t n = data.size();
  FG_CHECK(n > 0, DatasetError, data.source, ": the ", spec.split, " split is empty");
  std::vector<int64_t> ids, golden;
  Progress progress("choosing inputs", spec.count, "img");
  int64_t seen = 0;
  for (int64_t i = 0; i < n && static_cast<int64_t>(ids.size()) < spec.count; ++i) {
    int64_t id =
        spec.random
            ? static_cast<int64_t>(permute_index(static_cast<uint64_t>(i), static_cast<uint64_t>(n),
                                                 stream_id(seed, 0x494e505554ULL, 0)))
            : i;
    ++seen;
    int64_t cls = golden_class_of(exec, data.images[id], id);
    if (spec.correct_only && cls != data.labels[id].item<int64_t>()) continue;
    ids.push_back(id);
    golden.push_back(cls);
    progress.advance(1);
  }
  progress.finish();
  FG_CHECK(!ids.empty(), DatasetError, data.source, ": none of the ", seen,
           " inputs looked at is classified correctly by the model; is it trained? "
           "(set inputs.correct_only: false to use them anyway)");
  CampaignInputs in = gather(exec, data, ids, golden);
  in.candidates_seen = seen;
  const auto found = static_cast<int64_t>(ids.size());
  if (found < spec.count && spec.correct_only) {
    in.shortfall = fmt::format(
        "inputs: count is {}, but only {} of the {} split's {} images are classified correctly; "
        "the campaign uses those {} (correct_only: false takes the others too)",
        spec.count, found, spec.split, n, found);
  } else if (found < spec.count) {
    in.shortfall = fmt::format(
        "inputs: count is {}, but the {} split holds {} images; the campaign uses all "
        "of them",
        spec.count, spec.split, n);
  }
  return in;
}

CampaignInputs inputs_by_id(Executor& exec, const LabelledImages& data,
                            const std::vector<int64_t>& ids) {
  std::vector<int64_t> golden;
  for (int64_t id : ids) {
    FG_CHECK(id >= 0 && id < data.size(), ConfigError, "fault list: input ", id,
             " is outside the split's ", data.size(), " samples");
    golden.push_back(golden_class_of(exec, data.images[id], id));
  }
  CampaignInputs in = gather(exec, data, ids, golden);
  in.candidates_seen = static_cast<int64_t>(ids.size());
  return in;
}

ValueFault trial_fault(const TrialPlan& plan, const Trial& t) {
  const CampaignSite& site = plan.sites()[t.site];
  ValueFault f;
  f.value = site.value;
  f.consumer = site.consumer;
  f.input_index = site.consumer == kNoNode ? -1 : site.index;
  f.elements = t.elements;
  f.spec = plan.fault();
  f.spec.bits = t.bit < 0 ? std::vector<int>{} : std::vector<int>{t.bit};
  f.spec.random_bit = false;
  f.spec.adjacent = 1;
  return f;
}

namespace {
TrialRecord record_of(const Executor& exec, const GoldenCache& golden, const TrialPlan& plan,
                      const Trial& t, const CampaignInputs& inputs, const RerunResult& r) {
  const CampaignSite& site = plan.sites()[t.site];
  std::vector<at::Tensor> gold = golden.outputs();
  TrialRecord rec;
  rec.id = t.id;
  rec.stratum = t.stratum;
  rec.input = inputs.ids.at(static_cast<size_t>(t.input));
  rec.label = inputs.labels[t.input].item<int64_t>();
  rec.site = site.name();
  rec.kind = site_kind_name(site.kind);
  rec.node = site.node;
  rec.op = site.op;
  rec.index = site.index;
  rec.elements = fmt::format("{}", fmt::join(t.elements, " "));
  rec.bit = t.bit;
  rec.golden_value = r.golden_values.empty() ? 0.0 : r.golden_values[0];
  rec.faulty_value = r.faulty_values.empty() ? 0.0 : r.faulty_values[0];
  Outcome o = classify(gold, r.outputs);
  rec.outcome = outcome_name(o);
  rec.golden_class = inputs.golden_class.at(static_cast<size_t>(t.input));
  rec.faulty_class = top1(r.outputs[0]);
  rec.max_abs_diff =
      o == Outcome::kMasked
          ? 0.0
          : (r.outputs[0].to(at::kDouble) - gold[0].to(at::kDouble)).abs().max().item<double>();
  if (r.fault_non_finite) {
    rec.first_non_finite = site.kind == SiteKind::kActivation || site.kind == SiteKind::kModelInput
                               ? site.node
                               : site.name();
  } else if (r.first_non_finite != kNoNode) {
    rec.first_non_finite = exec.graph().node(r.first_non_finite).name;
  }
  rec.nodes_recomputed = r.nodes_recomputed;
  rec.flops = r.flops;
  return rec;
}
}  // namespace

TrialRecord run_trial(const Executor& exec, const GoldenCache& golden, const TrialPlan& plan,
                      const Trial& t, const CampaignInputs& inputs, Recompute recompute) {
  ValueFault f = trial_fault(plan, t);
  f.keep_faulty_value = false;  // a record keeps the listed elements' values only
  return record_of(exec, golden, plan, t, inputs, exec.rerun(golden, f, recompute));
}

std::vector<TrialRecord> run_trial_batch(const Executor& exec, const GoldenCache& golden,
                                         const TrialPlan& plan, std::span<const Trial> trials,
                                         const CampaignInputs& inputs, Recompute recompute) {
  std::vector<ValueFault> faults;
  for (const Trial& t : trials) {
    faults.push_back(trial_fault(plan, t));
    faults.back().keep_faulty_value = false;  // a record keeps the listed elements' values
  }
  std::vector<RerunResult> results = exec.rerun_batch(golden, faults, recompute);
  std::vector<TrialRecord> records;
  for (size_t i = 0; i < trials.size(); ++i)
    records.push_back(record_of(exec, golden, plan, trials[i], inputs, results[i]));
  return records;
}

// Batched fault variants per rerun, when not given: 1. Measured (release build, 2 cores,
// 200-trial campaigns at full size, trials/s at 1 / 2 threads, cone): ResNet-50 batch 1
// 45.9 / 78.4 vs batch 8 43.6 / 70.3; MobileNetV2 222.7 / 285.3 vs 172.7 / 229.9; the seed
// model 3230 / 3389 vs 3028 / 3370; only ResNet-20's small layers gain (2444 / 3466 vs
// 2327 / 3216). Once windows stopped scanning for tight boxes, stacking variants copied more
// than it saved; downstream, whose trials reach whole layers from the start, never gained.
// Batches also compute their windows of a 1x1 or im2col convolution in one GEMM, reading the
// weights once (Region::compute_many); on a Zen 3 core (AVX2), whose tiles are bound by their
// multiply-adds, ResNet-50 at 1 thread ran 25.1-28.9 trials/s at batch 8 against 27.6-30.2
// at batch 1, and 28.7-30.3 at batch 4 against 30.8-34.1 (alternating), so 1 stays the
// default.
constexpr int kDefaultBatch = 1;

// Trial threads that live as long as the process, each running its kernels single-threaded.
// Threads made per chunk were why two trial threads ran slower than one (ResNet-20: 940 vs
// 2370 trials/s): a new thread's first ATen parallel call runs at::init_num_threads, which
// re-applies the process's thread count to that thread's OpenMP teams (overriding its
// omp_set_num_threads(1) if that came first) and re-creates caffe2's pthreadpool, whose
// new threads each spin a million pauses before they sleep.
class TrialThreads {
 public:
  // job(w) on workers 0..n-1, and alongside() (if given) on the calling thread meanwhile;
  // returns when all are done, rethrowing the first exception (the workers' first).
  void run(int n, const std::function<void(int)>& job,
           const std::function<void()>& alongside = nullptr) {
    std::lock_guard<std::mutex> one_job(run_mutex_);
    std::unique_lock<std::mutex> lock(m_);
    while (static_cast<int>(threads_.size()) < n) {
      int w = static_cast<int>(threads_.size());
      threads_.emplace_back([this, w] { loop(w); });
    }
    job_ = &job;
    active_ = n;
    running_ = n;
    errors_.assign(static_cast<size_t>(n), nullptr);
    ++generation_;
    wake_.notify_all();
    std::exception_ptr alongside_error;
    if (alongside) {
      lock.unlock();
      try {
        alongside();
      } catch (...) {
        alongside_error = std::current_exception();
      }
      lock.lock();
    }
    done_.wait(lock, [this] { return running_ == 0; });
    job_ = nullptr;
    for (auto& e : errors_) {
      if (e) std::rethrow_exception(e);
    }
    if (alongside_error) std::rethrow_exception(alongside_error);
  }

 private:
  void loop(int w) {
    at::internal::lazy_init_num_threads();  // first, so that what follows sticks
    omp_set_num_threads(1);                 // this thread's OpenMP teams: itself only
    at::NoGradGuard no_grad;                // thread-local
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(m_);
    for (;;) {
      wake_.wait(lock, [&] { return generation_ != seen; });
      seen = generation_;
      if (w >= active_) continue;
      const std::function<void(int)>* job = job_;
      lock.unlock();
      std::exception_ptr error;
      try {
        (*job)(w);
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      errors_[static_cast<size_t>(w)] = error;
      if (--running_ == 0) done_.notify_one();
    }
  }

  std::mutex run_mutex_, m_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> threads_;
  const std::function<void(int)>* job_ = nullptr;
  int active_ = 0, running_ = 0;
  uint64_t generation_ = 0;
  std::vector<std::exception_ptr> errors_;
};

// Never destroyed: its threads wait for work until the process exits.
TrialThreads& trial_threads() {
  static auto* threads = new TrialThreads;
  return *threads;
}

// Trials [begin, end) of `trials`, all on one golden run, on `workers` threads that each run
// their kernels single-threaded: a trial's small windows gain nothing from intra-op threads,
// which only add synchronisation, while trials are independent (rerun is const). Results
// come back in order. Each worker takes `batch` trials at a time (batched fault variants).
std::vector<TrialRecord> run_trials_on(const Executor& exec, const GoldenCache& golden,
                                       const TrialPlan& plan, const CampaignInputs& inputs,
                                       Recompute recompute, const std::vector<Trial>& trials,
                                       size_t begin, size_t end, int workers, size_t batch) {
  std::vector<TrialRecord> out(end - begin);
  // Trials [i, i + batch) together; their records in place.
  auto run_from = [&](size_t i) {
    size_t n = std::min(batch, end - i);
    std::vector<TrialRecord> recs = run_trial_batch(
        exec, golden, plan, std::span<const Trial>(trials.data() + i, n), inputs, recompute);
    std::move(recs.begin(), recs.end(), out.begin() + static_cast<std::ptrdiff_t>(i - begin));
  };
  if (workers <= 1 || end - begin <= batch) {
    for (size_t i = begin; i < end; i += batch) run_from(i);
    return out;
  }
  std::atomic<size_t> next{begin};
  trial_threads().run(workers, [&](int) {
    for (size_t i = next.fetch_add(batch); i < end && interrupt_signal() == 0;
         i = next.fetch_add(batch))
      run_from(i);
  });
  check_interrupt();  // a Ctrl-C during the chunk: its unfinished trials are not recorded
  return out;
}

// The first `count` trials of `trials` (all on `golden`'s input), `batch` at a time, on
// `workers` trial threads, each record handed to `take` on the calling thread in trial order
// as soon as it and those before it are done: the workers never wait for the records to be
// stored or for each other, but at the end of the input. (Chunks of about a second of trials,
// each ending with the workers waiting for its slowest trial and for its records to be
// stored, cost ResNet-50 at 2 threads about 3% of its time by per-step timers, 0.13 of
// 4.7 s; the gain itself was within this machine's noise.) A Ctrl-C: the
// workers take no more trials, `take` gets every record finished before the first unfinished
// one, and Interrupted is thrown; an exception from `take` stops the workers too.
void stream_trials(const Executor& exec, const GoldenCache& golden, const TrialPlan& plan,
                   const CampaignInputs& inputs, Recompute recompute,
                   const std::vector<Trial>& trials, size_t count, int workers, size_t batch,
                   const std::function<void(const TrialRecord&)>& take) {
  auto run_at = [&](size_t i) {
    return run_trial_batch(exec, golden, plan,
                           std::span<const Trial>(trials.data() + i, std::min(batch, count - i)),
                           inputs, recompute);
  };
  if (workers <= 1 || count <= batch) {
    for (size_t i = 0; i < count; i += batch) {
      check_interrupt();
      for (const TrialRecord& rec : run_at(i)) take(rec);
    }
    return;
  }
  std::map<size_t, TrialRecord> done;  // finished, not yet taken (few: the workers' lead)
  std::mutex m;
  std::condition_variable cv;
  int running = workers;
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  auto job = [&](int) {
    struct Leave {  // however the worker leaves: one fewer running, the taker told
      std::mutex& m;
      std::condition_variable& cv;
      int& running;
      ~Leave() {
        {
          std::lock_guard<std::mutex> l(m);
          --running;
        }
        cv.notify_all();
      }
    } leave{m, cv, running};
    try {
      for (size_t i = next.fetch_add(batch); i < count && !stop && interrupt_signal() == 0;
           i = next.fetch_add(batch)) {
        std::vector<TrialRecord> recs = run_at(i);
        {
          std::lock_guard<std::mutex> l(m);
          for (size_t k = 0; k < recs.size(); ++k) done.emplace(i + k, std::move(recs[k]));
        }
        cv.notify_all();
      }
    } catch (...) {
      stop = true;  // the other workers too: the campaign ends with this error
      throw;
    }
  };
  auto alongside = [&] {
    try {
      for (size_t i = 0; i < count; ++i) {
        TrialRecord rec;
        {
          std::unique_lock<std::mutex> l(m);
          auto here = [&] { return !done.empty() && done.begin()->first == i; };
          cv.wait(l, [&] { return here() || running == 0; });
          if (!here()) return;  // the workers stopped before trial i
          rec = std::move(done.begin()->second);
          done.erase(done.begin());
        }
        take(rec);
      }
    } catch (...) {
      stop = true;
      throw;
    }
  };
  trial_threads().run(workers, job, alongside);
  check_interrupt();
}

// One trial thread per compute thread. Measured at 2 threads (bench/campaign_vs_pytorch.py
// --workers, README "Performance"), side by side vs one at a time with both threads on its
// kernels: ResNet-50 69.0 vs 66.7 trials/s (downstream), 71.4 vs 58.8 (cone); MobileNetV2
// 333 vs 286, 200 vs 125; InceptionV3 69.0 vs 69.0, 55.6 vs 52.6; ResNet-20 3546 vs 2868;
// the seed model 2732 vs 2817. (Side by side lost everywhere while each new trial thread
// re-created ATen's thread pools: see TrialThreads.)
int default_workers() { return std::max(1, at::get_num_threads()); }

size_t default_batch(const RunnerOptions& o) {
  return static_cast<size_t>(o.batch > 0 ? o.batch : kDefaultBatch);
}

std::vector<bool> trials_to_skip(const TrialPlan& plan, const TrialStore* store,
                                 const RunnerOptions& o, int64_t& already_done, int64_t& todo) {
  const int64_t total = plan.trials();
  std::vector<bool> done(static_cast<size_t>(total), false);
  already_done = 0;
  if (store) {
    for (int64_t id : store->done_ids()) {
      if (id >= 0 && id < total && !done[static_cast<size_t>(id)]) {
        done[static_cast<size_t>(id)] = true;
        ++already_done;
      }
    }
  }
  int64_t skipped = 0;
  if (!o.only.empty()) {
    std::vector<bool> wanted(static_cast<size_t>(total), false);
    for (int64_t id : o.only) {
      FG_CHECK(id >= 0 && id < total, UsageError, "trial ", id, " is outside 0..", total - 1);
      wanted[static_cast<size_t>(id)] = true;
    }
    for (size_t i = 0; i < done.size(); ++i) {
      if (!wanted[i] && !done[i]) {
        done[i] = true;
        ++skipped;
      }
    }
  }
  todo = total - already_done - skipped;
  if (o.max_trials >= 0) todo = std::min(todo, o.max_trials);
  return done;
}

int64_t trial_block(const TrialPlan& plan) {
  return std::clamp<int64_t>(50 * plan.inputs(), 2000, 200000);
}

int64_t planned_golden_runs(const TrialPlan& plan) {
  const int64_t block = trial_block(plan);
  int64_t runs = 0;
  for (int64_t b0 = 0; b0 < plan.trials(); b0 += block)
    runs += std::min(plan.inputs(), std::min(block, plan.trials() - b0));
  return runs;
}

RunSummary run_trials(Executor& exec, const TrialPlan& plan, const CampaignInputs& inputs,
                      TrialStore* store, const RunnerOptions& o,
                      const std::function<void(const TrialRecord&)>& on_trial) {
  const int64_t total = plan.trials();
  RunSummary sum;
  int64_t todo = 0;
  std::vector<bool> done = trials_to_skip(plan, store, o, sum.already_done, todo);
  Progress progress("campaign", todo, "trials");
  if (!o.progress) progress.finish();
  auto start = std::chrono::steady_clock::now();
  auto last_commit = start;
  // Blocks of consecutive ids, grouped by input inside a block: a few golden runs per input
  // and bounded memory (one golden cache at a time).
  const int64_t block = trial_block(plan);
  int workers = o.workers;  // 0: default_workers()
  const size_t batch = default_batch(o);
  at::NoGradGuard no_grad;
  int64_t sdc = 0;
  try {
    for (int64_t b0 = 0; b0 < total && sum.ran < todo; b0 += block) {
      int64_t b1 = std::min(total, b0 + block);
      std::map<int64_t, std::vector<Trial>> by_input;
      for (int64_t id = b0; id < b1; ++id) {
        if (done[static_cast<size_t>(id)]) continue;
        Trial t = plan.trial(id);
        by_input[t.input].push_back(std::move(t));
      }
      for (auto& [input, trials] : by_input) {
        if (sum.ran >= todo) break;
        check_interrupt();
        const auto golden_start = std::chrono::steady_clock::now();
        GoldenCache golden = exec.run_cached({inputs.images[input].unsqueeze(0)},
                                             inputs.ids[static_cast<size_t>(input)]);
        ++sum.golden_runs;
        sum.golden_seconds +=
            std::chrono::duration<double>(std::chrono::steady_clock::now() - golden_start).count();
        if (workers <= 0) workers = default_workers();
        // Trials of this input side by side on the workers, each record stored as it comes.
        const size_t here = static_cast<size_t>(
            std::min<int64_t>(static_cast<int64_t>(trials.size()), todo - sum.ran));
        stream_trials(
            exec, golden, plan, inputs, o.recompute, trials, here, workers, batch,
            [&](const TrialRecord& rec) {
              Outcome oc = outcome_from_name(rec.outcome);
              ++sum.outcomes[static_cast<int>(oc)];
              sdc += oc == Outcome::kSdc1 || oc == Outcome::kSdc5 ? 1 : 0;
              sum.flops += rec.flops;
              ++sum.ran;
              if (on_trial) on_trial(rec);
              if (store) {
                store->add(rec);
                auto now = std::chrono::steady_clock::now();
                if (static_cast<int64_t>(store->pending()) >= o.commit_trials ||
                    now - last_commit >= std::chrono::duration<double>(o.commit_seconds)) {
                  store->commit();
                  last_commit = now;
                }
              }
              Interval ci = wilson_interval(sdc, sum.ran);
              double per_trial = sum.flops / static_cast<double>(sum.ran);
              progress.set_label(fmt::format(
                  "campaign  SDC {:.2f}% [{:.2f}, {:.2f}]  recomputed {:.1f}% of a forward",
                  100.0 * static_cast<double>(sdc) / static_cast<double>(sum.ran), 100 * ci.low,
                  100 * ci.high, 100 * per_trial / std::max(golden.forward_flops(), 1.0)));
              progress.advance(1);
            });
      }
    }
  } catch (const Interrupted&) {
    if (store) store->commit();  // keep every finished trial; resume continues after them
    throw;
  }
  if (store) store->commit();
  progress.finish();
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return sum;
}

PreparedCampaign prepare_campaign(Executor& exec, const CampaignSpec& spec,
                                  const LabelledImages& data) {
  FG_CHECK(data.images.defined() && data.images.dim() >= 2, DatasetError, data.source,
           ": no images in the ", spec.inputs.split, " split");
  std::vector<int64_t> shape(data.images.sizes().begin() + 1, data.images.sizes().end());
  if (std::optional<SampleMismatch> m = sample_mismatch(exec.graph(), shape)) {
    FG_FAIL(DatasetError, data.source, ": its images are ", m->is, ", but the model's ", m->takes,
            m->channels > 0 && m->size > 0
                ? fmt::format(" ({}: dataset_options: {{image_size: {}, channels: {}}} resizes "
                              "gtsrb and folder datasets)",
                              spec.source, m->size, m->channels)
                : "");
  }
  std::vector<CampaignSite> sites = resolve_sites(exec.graph(), spec, shape);
  if (!spec.faults_file.empty()) {
    std::vector<int64_t> ids;
    std::vector<Trial> trials = parse_trials_csv(spec.faults_text, spec.faults_file, sites,
                                                 format_width(spec.fault.format), ids, data.size());
    CampaignInputs inputs = inputs_by_id(exec, data, ids);
    int64_t n = static_cast<int64_t>(ids.size());
    return {std::move(inputs), TrialPlan(spec, std::move(sites), std::move(trials), n)};
  }
  CampaignInputs inputs = select_inputs(exec, data, spec.inputs, spec.seed);
  int64_t n = static_cast<int64_t>(inputs.ids.size());
  return {std::move(inputs), TrialPlan(spec, std::move(sites), n)};
}

}  // namespace fg

namespace fg {

namespace {
// An exclusive advisory lock (flock) on a file, released when closed or the process dies.
// SQLite's own locks are fcntl locks, which flock does not touch.
class FileLock {
 public:
  FileLock() = default;
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  bool try_lock(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    return fd_ < 0 || ::flock(fd_, LOCK_EX | LOCK_NB) == 0;
  }

 private:
  int fd_ = -1;
};

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string machine_description() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return fmt::format("{} ({} cores, {} threads)", host, std::thread::hardware_concurrency(),
                     at::get_num_threads());
}
}  // namespace

CampaignRun run_campaign(const CampaignSpec& spec, const Graph& model,
                         const std::string& model_name, const LabelledImages& data,
                         const std::string& db_path, const RunnerOptions& options) {
  Executor exec(model);
  // Under MPI (campaign/mpi.h) rank 0 alone opens the database; every rank prepares the
  // same plan and inputs, and they check that they agree before any trial runs.
  const MpiJob job = mpi_job();
  std::optional<TrialStore> store_holder;
  // Open the database first: a bad path fails before any work.
  FileLock writer;
  std::error_code ec;
  const bool created = job.rank == 0 && !std::filesystem::exists(db_path, ec);
  if (job.rank == 0) {
    store_holder.emplace(db_path);
    // One writer per database: a second run (or a job left over from a killed mpirun)
    // would store trials twice.
    FG_CHECK(writer.try_lock(db_path), ConfigError, db_path,
             ": another faultgraph is running this campaign (wait for it, or stop it)");
  }
  // A database this run made is removed when the campaign is refused before the database
  // holds it (inputs that do not fit the model, a golden run that fails): no empty file.
  struct RemoveUnlessKept {
    std::optional<TrialStore>& store;
    const std::string& path;
    bool armed;
    ~RemoveUnlessKept() {
      if (!armed) return;
      store.reset();
      std::error_code ec;
      for (const char* suffix : {"", "-journal", "-wal", "-shm"})
        std::filesystem::remove(path + suffix, ec);
    }
  } cleanup{store_holder, db_path, created};
  PreparedCampaign p = prepare_campaign(exec, spec, data);
  if (job.rank == 0 && options.note && !p.inputs.shortfall.empty())
    options.note(spec.source + ": " + p.inputs.shortfall);
  CampaignRecord c;
  c.spec_text = spec.text;
  c.canonical = spec.canonical();
  c.model = model_name;
  c.model_hash = graph_hash(model);
  c.dataset = data.source;
  c.dataset_hash = inputs_hash(p.inputs);
  c.version = FG_VERSION;
  c.machine = machine_description();
  c.started = utc_now();
  c.trials = p.plan.trials();
  c.population = p.plan.population();
  c.inputs = static_cast<int64_t>(p.inputs.ids.size());
  c.correct_only = spec.faults_file.empty() && spec.inputs.correct_only;
  if (job.rank != 0) {
    std::string why = mpi_agree(c.model_hash + ":" + c.dataset_hash, true);
    FG_CHECK(why.empty(), ConfigError, why);
    CampaignRun run;
    run.planned = p.plan.trials();
    run.summary = run_trials_mpi(exec, p.plan, p.inputs, nullptr, options);
    return run;
  }
  TrialStore& store = *store_holder;
  {
    GoldenCache g = exec.run_cached({p.inputs.images[0].unsqueeze(0)});
    c.forward_flops = g.forward_flops();
  }
  if (store.has_campaign()) {
    CampaignRecord old = store.campaign();
    FG_CHECK(old.canonical == c.canonical, ConfigError, db_path,
             ": holds a campaign made from another spec (", old.model,
             "); use a new database file, or the spec it was made from (faultgraph campaign "
             "report shows it)");
    FG_CHECK(old.model_hash == c.model_hash, ConfigError, db_path,
             ": holds a campaign of another model (", old.model, ", hash ", old.model_hash,
             "; this one: ", c.model_hash, "); use a new database file");
    FG_CHECK(old.dataset_hash == c.dataset_hash, ConfigError, db_path,
             ": holds a campaign on other inputs (", old.dataset,
             "); the dataset or the inputs it selects changed; use a new database file");
  } else {
    std::vector<StratumRecord> strata;
    for (size_t i = 0; i < p.plan.strata().size(); ++i) {
      const Stratum& s = p.plan.strata()[i];
      strata.push_back({static_cast<int>(i), s.name, s.population, s.trials});
    }
    std::vector<SiteRecord> sites;
    for (size_t i = 0; i < p.plan.sites().size(); ++i) {
      const CampaignSite& s = p.plan.sites()[i];
      sites.push_back({static_cast<int>(i), s.name(), site_kind_name(s.kind), s.node, s.op, s.index,
                       s.elements});
    }
    store.create_campaign(c, strata, sites);
  }
  cleanup.armed = false;
  std::string why = mpi_agree(c.model_hash + ":" + c.dataset_hash, true);
  FG_CHECK(why.empty(), ConfigError, why);
  CampaignRun run;
  run.planned = p.plan.trials();
  run.summary = run_trials_mpi(exec, p.plan, p.inputs, &store, options);
  run.stored = store.trial_count();
  if (run.stored == run.planned && store.campaign().finished.empty()) store.set_finished(utc_now());
  return run;
}

}  // namespace fg
