#include "faultgraph/campaign/sampling.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <unordered_set>

#include "faultgraph/campaign/stats.h"
#include "faultgraph/core/error.h"
#include "faultgraph/fault/rng.h"
#include "faultgraph/ir/topo.h"
#include "faultgraph/ops/infer.h"

namespace fg {

std::string CampaignSite::name() const {
  switch (kind) {
    case SiteKind::kActivation:
      return index == 0 ? node : fmt::format("{}:out{}", node, index);
    case SiteKind::kInputEdge:
      return fmt::format("{}:in{}", node, index);
    case SiteKind::kWeight:
      return node + ":weight";
    case SiteKind::kBias:
      return node + ":bias";
    case SiteKind::kModelInput:
      return node;
  }
  return node;
}

namespace {
// The node that computes `v`, when it has op `op`.
const Node* producer_of(const Graph& g, ValueId v, OpKind op) {
  if (v == kNoValue) return nullptr;
  NodeId p = g.value(v).producer;
  if (p == kNoNode || g.node(p).op != op) return nullptr;
  return &g.node(p);
}

// A decomposed LayerNorm (torch.onnx before opset 17) is
// Add(Mul(Div(Sub(x, ReduceMean(x)), Sqrt(...)), scale), bias), without the Add or Mul when
// it has no bias or scale; this is its Div.
bool is_layer_norm_div(const Graph& g, const Node& n) {
  return n.op == OpKind::kDiv && n.inputs.size() == 2 &&
         producer_of(g, n.inputs[0], OpKind::kSub) != nullptr &&
         producer_of(g, n.inputs[1], OpKind::kSqrt) != nullptr;
}
}  // namespace

std::set<NodeId> decomposed_layer_norm_ends(const Graph& g) {
  std::set<NodeId> ends;
  std::vector<std::vector<NodeId>> consumers = g.consumers();
  // The single consumer of node `id`'s output when it has op `op`.
  auto only_consumer = [&](NodeId id, OpKind op) -> std::optional<NodeId> {
    const Node& n = g.node(id);
    if (n.outputs.size() != 1) return std::nullopt;
    const auto& c = consumers.at(static_cast<size_t>(n.outputs[0]));
    if (c.size() != 1 || g.node(c[0]).op != op) return std::nullopt;
    return c[0];
  };
  for (const Node& n : g.nodes()) {
    if (!is_layer_norm_div(g, n)) continue;
    const Node* sub = producer_of(g, n.inputs[0], OpKind::kSub);
    if (sub->inputs.size() != 2 || producer_of(g, sub->inputs[1], OpKind::kReduceMean) == nullptr) {
      continue;
    }
    NodeId end = n.id;
    if (auto mul = only_consumer(end, OpKind::kMul)) {
      end = *mul;
      if (auto add = only_consumer(end, OpKind::kAdd)) end = *add;
    }
    ends.insert(end);
  }
  return ends;
}

namespace {
bool glob_match(const std::string& pattern, const std::string& name) {
  return fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

int64_t numel_of(const TensorInfo& t) {
  int64_t n = t.numel();
  return n < 0 ? 0 : n;
}
}  // namespace

std::vector<CampaignSite> resolve_sites(const Graph& g, const CampaignSpec& spec,
                                        const std::vector<int64_t>& input_shape) {
  std::vector<TensorInfo> in_info;
  for (ValueId v : g.runtime_inputs()) {
    TensorInfo t;
    t.dtype = g.value(v).dtype == DType::kUndefined ? DType::kFloat32 : g.value(v).dtype;
    t.shape = {1};
    t.shape.insert(t.shape.end(), input_shape.begin(), input_shape.end());
    t.rank_known = true;
    in_info.push_back(t);
  }
  std::vector<TensorInfo> info = infer_types(g, in_info);
  std::vector<CampaignSite> sites;
  std::set<std::tuple<int, std::string, int>> seen;
  auto add = [&](CampaignSite s) {
    if (!seen.insert({static_cast<int>(s.kind), s.node, s.index}).second) return;
    sites.push_back(std::move(s));
  };
  std::vector<NodeId> order = topological_order(g);
  const std::set<NodeId> layer_norm_ends = decomposed_layer_norm_ends(g);
  for (const TargetSpec& t : spec.targets) {
    size_t before = sites.size();
    if (t.site == SiteKind::kModelInput) {
      for (ValueId v : g.runtime_inputs()) {
        if (!glob_match(t.node, g.value(v).name)) continue;
        CampaignSite s;
        s.kind = SiteKind::kModelInput;
        s.node = g.value(v).name;
        s.op = "Input";
        s.value = v;
        s.elements = numel_of(info[v]);
        add(s);
      }
    }
    for (NodeId id : t.site == SiteKind::kModelInput ? std::vector<NodeId>{} : order) {
      const Node& n = g.node(id);
      if (!glob_match(t.node, n.name)) continue;
      bool layer_norm_end = layer_norm_ends.count(n.id) != 0;
      if (!t.op.empty() && op_name(n.op) != t.op &&
          !(layer_norm_end && t.op == "LayerNormalization")) {
        continue;
      }
      auto floating = [&](ValueId v) { return v != kNoValue && is_floating(info[v].dtype); };
      CampaignSite s;
      s.kind = t.site;
      s.node = n.name;
      s.op = layer_norm_end && t.op == "LayerNormalization" ? "LayerNormalization"
                                                            : std::string(op_name(n.op));
      switch (t.site) {
        case SiteKind::kActivation: {
          int index = std::max(t.index, 0);
          if (static_cast<size_t>(index) >= n.outputs.size() || !floating(n.outputs[index])) break;
          s.index = index;
          s.value = n.outputs[index];
          s.elements = numel_of(info[s.value]);
          add(s);
          break;
        }
        case SiteKind::kInputEdge:
          for (size_t i = 0; i < n.inputs.size(); ++i) {
            if (t.index >= 0 && static_cast<int>(i) != t.index) continue;
            ValueId v = n.inputs[i];
            if (!floating(v) || g.value(v).is_initializer()) continue;
            CampaignSite e = s;
            e.index = static_cast<int>(i);
            e.value = v;
            e.consumer = n.id;
            e.elements = numel_of(info[v]);
            add(e);
          }
          break;
        case SiteKind::kWeight:
        case SiteKind::kBias: {
          int index = t.site == SiteKind::kWeight ? 1 : 2;
          if (static_cast<size_t>(index) >= n.inputs.size()) break;
          ValueId v = n.inputs[index];
          if (!floating(v) || !g.value(v).is_initializer()) break;
          s.index = index;
          s.value = v;
          s.consumer = n.id;  // this node's copy only, as insert_faults does
          s.elements = numel_of(info[v]);
          add(s);
          break;
        }
        case SiteKind::kModelInput:
          break;
      }
    }
    // A site with no elements (an empty tensor) cannot be hit.
    sites.erase(std::remove_if(sites.begin() + static_cast<std::ptrdiff_t>(before), sites.end(),
                               [](const CampaignSite& s) { return s.elements <= 0; }),
                sites.end());
    FG_CHECK(sites.size() > before || seen.size() > before, ConfigError, spec.source,
             t.line ? fmt::format(":{}", t.line) : "", ": target {node: '", t.node, "'",
             t.op.empty() ? "" : ", op: " + t.op, ", site: ", site_kind_name(t.site),
             "} matches no ", t.site == SiteKind::kModelInput ? "model input" : "node",
             " with a floating-point ", site_kind_name(t.site),
             " (faultgraph inspect MODEL lists the nodes)");
  }
  // Graph order, whatever the order of the targets.
  std::map<std::string, size_t> rank;
  for (size_t i = 0; i < order.size(); ++i) rank[g.node(order[i]).name] = i + 1;
  std::stable_sort(sites.begin(), sites.end(), [&](const CampaignSite& a, const CampaignSite& b) {
    size_t ra = a.kind == SiteKind::kModelInput ? 0 : rank[a.node];
    size_t rb = b.kind == SiteKind::kModelInput ? 0 : rank[b.node];
    return ra < rb;
  });
  return sites;
}

uint64_t permute_index(uint64_t i, uint64_t n, uint64_t key) {
  FG_ASSERT(i < n, "permute_index: ", i, " not below ", n);
  if (n <= 1) return 0;
  int bits = 64 - __builtin_clzll(n - 1);
  bits = std::max(bits + (bits & 1), 2);
  int half = bits / 2;
  uint64_t mask = (uint64_t{1} << half) - 1;
  uint64_t x = i;
  do {
    uint64_t l = x >> half, r = x & mask;
    for (uint64_t round = 0; round < 6; ++round) {
      uint64_t f = stream_id(key, round, r) & mask;
      uint64_t next = l ^ f;
      l = r;
      r = next;
    }
    x = (l << half) | r;
  } while (x >= n);  // cycle walking: stays a bijection of [0, n)
  return x;
}

namespace {
constexpr uint64_t kStreamStratum = 0x5354524154554dULL, kStreamExtra = 0x4558545241ULL;

// Equal shares of `total` trials over strata, none above its population; what a small
// stratum cannot take goes to the others.
std::vector<int64_t> equal_allocation(int64_t total, const std::vector<double>& populations) {
  std::vector<int64_t> n(populations.size(), 0);
  std::vector<size_t> open;
  for (size_t i = 0; i < populations.size(); ++i) open.push_back(i);
  int64_t left = total;
  while (left > 0 && !open.empty()) {
    int64_t share = std::max<int64_t>(1, left / static_cast<int64_t>(open.size()));
    std::vector<size_t> still;
    for (size_t i : open) {
      if (left <= 0) break;
      double room = populations[i] - static_cast<double>(n[i]);
      int64_t take =
          static_cast<int64_t>(std::min<double>(static_cast<double>(std::min(share, left)), room));
      n[i] += take;
      left -= take;
      if (populations[i] - static_cast<double>(n[i]) > 0) still.push_back(i);
    }
    open = still;
  }
  return n;
}
}  // namespace

TrialPlan::TrialPlan(const CampaignSpec& spec, std::vector<CampaignSite> sites, int64_t inputs)
    : sites_(std::move(sites)),
      inputs_(inputs),
      elements_(spec.elements),
      seed_(spec.seed),
      fault_(spec.fault) {
  FG_CHECK(!sites_.empty(), ConfigError, spec.source, ": the targets select no fault site");
  FG_CHECK(inputs_ > 0, UsageError, "a campaign needs at least one input");
  std::vector<int> bits = spec.population_bits();
  auto part_population = [&](int site, size_t nbits) {
    return static_cast<double>(inputs_) * static_cast<double>(sites_[site].elements) *
           static_cast<double>(nbits);
  };
  auto make_part = [&](int site, std::vector<int> b) {
    Stratum::Part p;
    p.site = site;
    p.population = part_population(site, b.size());
    p.bits = std::move(b);
    return p;
  };
  const int ns = static_cast<int>(sites_.size());
  if (spec.sampling.mode == SamplingMode::kUniform) {
    Stratum all;
    all.name = "all";
    for (int i = 0; i < ns; ++i) all.parts.push_back(make_part(i, bits));
    strata_.push_back(all);
  } else if (spec.sampling.by == StrataBy::kLayer) {
    for (int i = 0; i < ns; ++i) {
      Stratum s;
      s.name = sites_[i].name();
      s.parts.push_back(make_part(i, bits));
      strata_.push_back(s);
    }
  } else if (spec.sampling.by == StrataBy::kBit) {
    for (int b : bits) {
      Stratum s;
      s.name = b < 0 ? "value" : fmt::format("bit {}", b);
      for (int i = 0; i < ns; ++i) s.parts.push_back(make_part(i, {b}));
      strata_.push_back(s);
    }
  } else {
    for (int i = 0; i < ns; ++i) {
      for (int b : bits) {
        Stratum s;
        s.name = b < 0 ? sites_[i].name() : fmt::format("{} bit {}", sites_[i].name(), b);
        s.parts.push_back(make_part(i, {b}));
        strata_.push_back(s);
      }
    }
  }
  std::vector<double> pops;
  for (auto& s : strata_) {
    for (const auto& p : s.parts) s.population += p.population;
    population_ += s.population;
    pops.push_back(s.population);
  }
  FG_CHECK(population_ < 9.0e18, ConfigError, spec.source, ": the fault population (", population_,
           ") is too large to index; choose fewer targets or inputs");
  if (spec.sampling.trials > 0) {
    if (strata_.size() == 1) {
      strata_[0].trials = static_cast<int64_t>(
          std::min<double>(static_cast<double>(spec.sampling.trials), pops[0]));
    } else {
      auto n = equal_allocation(spec.sampling.trials, pops);
      for (size_t i = 0; i < strata_.size(); ++i) strata_[i].trials = n[i];
    }
  } else {
    for (auto& s : strata_)
      s.trials =
          leveugle_sample_size(s.population, spec.sampling.margin, spec.t_value(), spec.sampling.p);
  }
  for (auto& s : strata_) {
    s.first_trial = total_;
    total_ += s.trials;
  }
}

TrialPlan::TrialPlan(const CampaignSpec& spec, std::vector<CampaignSite> sites,
                     std::vector<Trial> trials, int64_t inputs)
    : sites_(std::move(sites)),
      listed_(std::move(trials)),
      inputs_(inputs),
      seed_(spec.seed),
      fault_(spec.fault) {
  Stratum s;
  s.name = "listed";
  s.trials = static_cast<int64_t>(listed_.size());
  s.population = static_cast<double>(listed_.size());
  strata_.push_back(s);
  total_ = s.trials;
  population_ = s.population;
  for (size_t i = 0; i < listed_.size(); ++i) listed_[i].id = static_cast<int64_t>(i);
}

Trial TrialPlan::trial(int64_t id) const {
  FG_CHECK(id >= 0 && id < total_, UsageError, "trial ", id, " is outside 0..", total_ - 1);
  if (!listed_.empty()) return listed_[static_cast<size_t>(id)];
  auto it = std::upper_bound(strata_.begin(), strata_.end(), id,
                             [](int64_t v, const Stratum& s) { return v < s.first_trial; });
  int h = static_cast<int>(it - strata_.begin()) - 1;
  while (strata_[h].trials == 0) --h;  // empty strata share a first_trial with the next
  const Stratum& st = strata_[h];
  Trial t;
  t.id = id;
  t.stratum = h;
  auto u = static_cast<double>(permute_index(
      static_cast<uint64_t>(id - st.first_trial), static_cast<uint64_t>(st.population),
      stream_id(seed_, kStreamStratum, static_cast<uint64_t>(h))));
  // Locate the part, then (input, element, bit) inside it.
  const Stratum::Part* part = &st.parts.back();
  for (const auto& p : st.parts) {
    if (u < p.population) {
      part = &p;
      break;
    }
    u -= p.population;
  }
  auto k = static_cast<uint64_t>(u);
  const CampaignSite& site = sites_[part->site];
  uint64_t nb = part->bits.size(), ne = static_cast<uint64_t>(site.elements);
  t.site = part->site;
  t.bit = part->bits[k % nb];
  k /= nb;
  int64_t first = static_cast<int64_t>(k % ne);
  t.input = static_cast<int64_t>(k / ne);
  t.elements.push_back(first);
  if (elements_ > 1) {
    // More elements of the same value: distinct, uniform, keyed by the trial.
    int64_t want = std::min<int64_t>(elements_, site.elements);
    CounterRng rng(seed_, stream_id(kStreamExtra, static_cast<uint64_t>(id), 0));
    std::unordered_set<int64_t> chosen{first};
    for (uint64_t draw = 0; static_cast<int64_t>(chosen.size()) < want; ++draw) {
      auto e = static_cast<int64_t>(rng.below(draw, ne));
      if (chosen.insert(e).second) t.elements.push_back(e);
    }
  }
  return t;
}

std::string trials_csv(const TrialPlan& plan, const std::vector<int64_t>& input_ids) {
  std::string out = "trial,input,site,kind,node,index,element,bit\n";
  for (int64_t i = 0; i < plan.trials(); ++i) {
    Trial t = plan.trial(i);
    const CampaignSite& s = plan.sites()[t.site];
    std::string node = s.node;
    if (node.find_first_of(",\"\n") != std::string::npos) {
      std::string q;
      for (char c : node) q += c == '"' ? std::string("\"\"") : std::string(1, c);
      node = "\"" + q + "\"";
    }
    out +=
        fmt::format("{},{},{},{},{},{},{},{}\n", t.id, input_ids.at(static_cast<size_t>(t.input)),
                    s.name(), site_kind_name(s.kind), node, s.index, fmt::join(t.elements, " "),
                    t.bit < 0 ? std::string() : std::to_string(t.bit));
  }
  return out;
}

namespace {
std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> cells(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cells.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cells.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      cells.emplace_back();
    } else if (c != '\r') {
      cells.back() += c;
    }
  }
  return cells;
}

int64_t parse_int(const std::string& s, const std::string& where, const char* what) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  FG_CHECK(!s.empty() && end && *end == '\0' && errno == 0, ConfigError, where, ": ", what, " '", s,
           "' is not a whole number");
  return v;
}
}  // namespace

std::vector<Trial> parse_trials_csv(const std::string& text, const std::string& source,
                                    const std::vector<CampaignSite>& sites, int width,
                                    std::vector<int64_t>& input_ids, int64_t samples) {
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  std::map<std::string, size_t> column;
  std::map<std::tuple<std::string, std::string, int>, int> site_of;
  for (size_t i = 0; i < sites.size(); ++i)
    site_of[{site_kind_name(sites[i].kind), sites[i].node, sites[i].index}] = static_cast<int>(i);
  std::map<int64_t, int64_t> input_pos;
  std::vector<Trial> trials;
  const char* required[] = {"input", "kind", "node", "index", "element", "bit"};
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty() || line == "\r") continue;
    auto cells = split_csv_line(line);
    std::string where = fmt::format("{}:{}", source, lineno);
    if (column.empty()) {
      for (size_t i = 0; i < cells.size(); ++i) column[cells[i]] = i;
      for (const char* c : required)
        FG_CHECK(column.count(c), ConfigError, where, ": the header lacks column '", c,
                 "' (expected trial,input,site,kind,node,index,element,bit, as `faultgraph "
                 "campaign faults` writes)");
      continue;
    }
    auto cell = [&](const char* name) -> const std::string& {
      size_t i = column.at(name);
      FG_CHECK(i < cells.size(), ConfigError, where, ": row has ", cells.size(), " cells, column '",
               name, "' is missing");
      return cells[i];
    };
    Trial t;
    int64_t input = parse_int(cell("input"), where, "input");
    FG_CHECK(input >= 0, ConfigError, where, ": input ", input, " is negative");
    FG_CHECK(samples < 0 || input < samples, ConfigError, where, ": input ", input,
             " is outside the split's ", samples, " samples (0..", samples - 1, ")");
    int index = static_cast<int>(parse_int(cell("index"), where, "index"));
    auto it = site_of.find({cell("kind"), cell("node"), index});
    FG_CHECK(it != site_of.end(), ConfigError, where, ": no ", cell("kind"), " site '",
             cell("node"), "' index ", index,
             " among the campaign's targets (add a target for it)");
    t.site = it->second;
    std::istringstream el(cell("element"));
    std::string e;
    while (el >> e) {
      int64_t v = parse_int(e, where, "element");
      FG_CHECK(v >= 0 && v < sites[t.site].elements, ConfigError, where, ": element ", v,
               " is outside the site's ", sites[t.site].elements, " elements");
      t.elements.push_back(v);
    }
    FG_CHECK(!t.elements.empty(), ConfigError, where, ": no element given");
    const std::string& b = cell("bit");
    t.bit = b.empty() ? -1 : static_cast<int>(parse_int(b, where, "bit"));
    FG_CHECK(t.bit >= -1 && t.bit < width, ConfigError, where, ": bit ", t.bit, " is outside 0..",
             width - 1);
    auto [pos, added] = input_pos.emplace(input, static_cast<int64_t>(input_ids.size()));
    if (added) input_ids.push_back(input);
    t.input = pos->second;
    trials.push_back(std::move(t));
    FG_CHECK(trials.size() <= 100000000, ConfigError, source, ": more than 1e8 faults");
  }
  FG_CHECK(!trials.empty(), ConfigError, source, ": the fault list holds no faults");
  return trials;
}

}  // namespace fg
