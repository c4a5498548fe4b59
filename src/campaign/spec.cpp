#include "faultgraph/campaign/spec.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "faultgraph/campaign/stats.h"
#include "faultgraph/core/error.h"
#include "faultgraph/core/files.h"
#include "faultgraph/ir/graph.h"

namespace fg {

std::string site_kind_name(SiteKind k) {
  switch (k) {
    case SiteKind::kActivation:
      return "activation";
    case SiteKind::kInputEdge:
      return "input_edge";
    case SiteKind::kWeight:
      return "weight";
    case SiteKind::kBias:
      return "bias";
    case SiteKind::kModelInput:
      return "model_input";
  }
  return "?";
}

bool site_kind_from_name(const std::string& name, SiteKind& out) {
  for (SiteKind k : {SiteKind::kActivation, SiteKind::kInputEdge, SiteKind::kWeight,
                     SiteKind::kBias, SiteKind::kModelInput}) {
    if (site_kind_name(k) == name) {
      out = k;
      return true;
    }
  }
  return false;
}

namespace {

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const YAML::Node& at, const std::string& key,
                         const std::string& msg) const {
    int line = at.IsDefined() ? at.Mark().line + 1 : 0;
    FG_FAIL(ConfigError, source_, line > 0 ? fmt::format(":{}", line) : "", ": ",
            key.empty() ? "" : key + ": ", msg);
  }

  void check_keys(const YAML::Node& map, const std::string& where,
                  const std::vector<std::string>& allowed) const {
    if (!map.IsMap()) fail(map, where, "expected a map of keys");
    std::set<std::string> seen;
    for (const auto& kv : map) {
      if (!kv.first.IsScalar()) fail(kv.first, where, "keys must be plain words");
      auto key = kv.first.as<std::string>();
      if (!seen.insert(key).second) fail(kv.first, key, "appears twice; keep one");
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      auto near = closest_names(key, allowed, 1);
      fail(kv.first, where.empty() ? key : where + "." + key,
           "unknown key" + (near.empty() ? std::string() : "; did you mean '" + near[0] + "'?") +
               " (known: " + fmt::format("{}", fmt::join(allowed, ", ")) + ")");
    }
  }

  template <typename T>
  T get(const YAML::Node& map, const std::string& key, const std::string& expected,
        T fallback) const {
    YAML::Node n = map[key];
    if (!n.IsDefined() || n.IsNull()) return fallback;
    if (!n.IsScalar()) fail(n, key, "expected " + expected);
    try {
      return n.as<T>();
    } catch (const YAML::Exception&) {
      fail(n, key, "expected " + expected + ", got '" + n.Scalar() + "'");
    }
  }

  double number(const YAML::Node& map, const std::string& key, double fallback, double lo,
                double hi, const std::string& range) const {
    double v = get<double>(map, key, "a number", fallback);
    if (!map[key].IsDefined() || map[key].IsNull()) return v;
    if (!std::isfinite(v) || v < lo || v > hi)
      fail(map[key], key, fmt::format("{} is outside {}", v, range));
    return v;
  }

  int64_t integer(const YAML::Node& map, const std::string& key, int64_t fallback, int64_t lo,
                  int64_t hi) const {
    // Digits that do not fit 64 bits are a number out of range, not "not a number".
    if (const YAML::Node n = map[key]; n.IsDefined() && n.IsScalar()) {
      const std::string& t = n.Scalar();
      const size_t d = !t.empty() && (t[0] == '-' || t[0] == '+') ? 1 : 0;
      int64_t parsed = 0;
      if (t.size() > d && t.find_first_not_of("0123456789", d) == std::string::npos &&
          std::from_chars(t.data() + d, t.data() + t.size(), parsed).ec ==
              std::errc::result_out_of_range)
        fail(n, key, fmt::format("{} is outside {}..{}", t, lo, hi));
    }
    auto v = get<int64_t>(map, key, "a whole number", fallback);
    if (!map[key].IsDefined() || map[key].IsNull()) return v;  // the fallback, not checked
    if (v < lo || v > hi) fail(map[key], key, fmt::format("{} is outside {}..{}", v, lo, hi));
    return v;
  }

  bool flag(const YAML::Node& map, const std::string& key, bool fallback) const {
    return get<bool>(map, key, "true or false", fallback);
  }

 private:
  std::string source_;
};

std::vector<int> parse_bits(const Reader& r, const YAML::Node& n, int width) {
  std::vector<int> bits;
  auto add = [&](const YAML::Node& at, long lo, long hi) {
    if (lo > hi && lo < width && hi >= 0)
      r.fail(
          at, "fault.bits",
          fmt::format("{}-{} runs backwards; write the lower bit first ({}-{})", lo, hi, hi, lo));
    if (lo > hi || lo < 0 || hi >= width)
      r.fail(at, "fault.bits",
             fmt::format("bits {}..{} are outside 0..{} ({} bits; bit 0 is the least significant)",
                         lo, hi, width - 1, width));
    for (long b = lo; b <= hi; ++b) {
      if (std::find(bits.begin(), bits.end(), b) != bits.end())
        r.fail(at, "fault.bits", fmt::format("bit {} is listed twice", b));
      bits.push_back(static_cast<int>(b));
    }
  };
  auto item = [&](const YAML::Node& at) {
    if (!at.IsScalar()) r.fail(at, "fault.bits", "expected bit numbers or ranges like 23-30");
    const std::string& s = at.Scalar();
    char* end = nullptr;
    long lo = std::strtol(s.c_str(), &end, 10);
    if (end == s.c_str())
      r.fail(at, "fault.bits", "'" + s + "' is not a bit number or a range like 23-30");
    long hi = lo;
    if (*end == '-') {
      const char* rest = end + 1;
      hi = std::strtol(rest, &end, 10);
      if (end == rest) r.fail(at, "fault.bits", "'" + s + "' is not a range like 23-30");
    }
    if (*end != '\0')
      r.fail(at, "fault.bits", "'" + s + "' is not a bit number or a range like 23-30");
    add(at, lo, hi);
  };
  if (n.IsSequence()) {
    for (const auto& b : n) item(b);
  } else {
    item(n);
  }
  if (bits.empty()) r.fail(n, "fault.bits", "is empty; leave it out for every bit");
  return bits;
}

}  // namespace

CampaignSpec parse_campaign_spec(const std::string& text, const std::string& source) {
  Reader r(source);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    FG_FAIL(ConfigError, source, ":", e.mark.line + 1, ": not valid YAML (", e.msg,
            yaml_tab_hint(text, e.mark.line + 1), ")");
  }
  if (!root.IsMap())
    r.fail(root, "",
           "a campaign spec is a map with model:, targets:, fault:, ... (see docs/campaigns.md)");
  r.check_keys(root, "",
               {"model", "dataset", "dataset_options", "inputs", "targets", "fault", "sampling",
                "seed", "faults"});
  CampaignSpec s;
  s.source = source;
  s.text = text;
  s.model = r.get<std::string>(root, "model", "a model file or built-in name", "");
  if (s.model.empty()) r.fail(root, "model", "missing: name an ONNX file or a built-in model");
  s.dataset = r.get<std::string>(root, "dataset", "a dataset folder or name", s.dataset);
  if (YAML::Node d = root["dataset_options"]; d.IsDefined() && !d.IsNull()) {
    r.check_keys(d, "dataset_options", {"image_size", "channels", "test_fraction", "split_seed"});
    DatasetOptions& o = s.dataset_options;
    o.image_size = r.integer(d, "image_size", o.image_size, 1, 4096);
    o.channels = r.integer(d, "channels", o.channels, 1, 3);
    if (o.channels == 2) r.fail(d["channels"], "dataset_options.channels", "must be 1 or 3");
    o.test_fraction = r.number(d, "test_fraction", o.test_fraction, 0.0, 1.0, "[0, 1]");
    o.split_seed = r.get<uint64_t>(d, "split_seed", "a whole number >= 0", o.split_seed);
  }
  s.seed = r.get<uint64_t>(root, "seed", "a whole number >= 0", 1);
  s.faults_file = r.get<std::string>(root, "faults", "a CSV file of faults", "");

  if (YAML::Node in = root["inputs"]; in.IsDefined() && !in.IsNull()) {
    r.check_keys(in, "inputs", {"split", "count", "order", "correct_only"});
    s.inputs.split = r.get<std::string>(in, "split", "train or test", "test");
    if (s.inputs.split != "test" && s.inputs.split != "train")
      r.fail(in["split"], "inputs.split", "must be test or train");
    s.inputs.count = r.integer(in, "count", 100, 1, 100000000);
    auto order = r.get<std::string>(in, "order", "first or random", "first");
    if (order != "first" && order != "random")
      r.fail(in["order"], "inputs.order",
             "must be first (the split's first images) or random (a seeded sample)");
    s.inputs.random = order == "random";
    s.inputs.correct_only = r.flag(in, "correct_only", true);
  }

  YAML::Node targets = root["targets"];
  if (!targets.IsDefined() || targets.IsNull()) {
    TargetSpec t;
    t.op = "Conv";
    s.targets.push_back(t);  // the field's usual default: every convolution's output
  } else {
    if (!targets.IsSequence() || targets.size() == 0)
      r.fail(targets, "targets",
             "expected a list of targets like '- {op: Conv, site: activation}'");
    for (const auto& tn : targets) {
      r.check_keys(tn, "targets[]", {"node", "op", "site", "index"});
      TargetSpec t;
      t.line = tn.Mark().line + 1;
      t.node = r.get<std::string>(tn, "node", "a node name or glob", "*");
      t.op = r.get<std::string>(tn, "op", "an op type such as Conv", "");
      if (!t.op.empty() && !op_from_name(t.op))
        r.fail(tn["op"], "op", "'" + t.op + "' is not an op type (faultgraph ops lists them)");
      auto site = r.get<std::string>(tn, "site", "a site kind", "activation");
      if (!site_kind_from_name(site, t.site))
        r.fail(tn["site"], "site",
               "'" + site + "' is not one of activation, input_edge, weight, bias, model_input");
      t.index = static_cast<int>(r.integer(tn, "index", -1, -1, 1000));
      s.targets.push_back(t);
    }
  }

  if (YAML::Node f = root["fault"]; f.IsDefined() && !f.IsNull()) {
    r.check_keys(f, "fault",
                 {"model", "bits", "format", "scale", "zero_point", "value", "range", "elements"});
    auto kind = r.get<std::string>(f, "model", "a fault model", "bit_flip");
    auto k = kind_from_name(kind);
    if (!k)
      r.fail(
          f["model"], "fault.model",
          "'" + kind + "' is not one of bit_flip, stuck_at_0, stuck_at_1, set_value, random_value");
    s.fault.kind = *k;
    auto format = r.get<std::string>(f, "format", "a number format", "fp32");
    auto fmt_ = format_from_name(format);
    if (!fmt_)
      r.fail(f["format"], "fault.format", "'" + format + "' is not one of fp32, fp16, bf16, int8");
    s.fault.format = *fmt_;
    bool bit_fault = s.fault.kind == FaultKind::kBitFlip || s.fault.kind == FaultKind::kStuckAt0 ||
                     s.fault.kind == FaultKind::kStuckAt1;
    if (f["bits"].IsDefined()) {
      if (!bit_fault) r.fail(f["bits"], "fault.bits", "only bit faults take bits; remove it");
      s.fault.bits = parse_bits(r, f["bits"], format_width(s.fault.format));
    }
    if (s.fault.format == NumberFormat::kInt8) {
      if (!f["scale"].IsDefined())
        r.fail(f, "fault.scale", "int8 needs the tensor's quantisation scale (scale: 0.05, say)");
      s.fault.scale = r.number(f, "scale", 1.0, 1e-30, 1e30, "(0, 1e30]");
      s.fault.zero_point = r.integer(f, "zero_point", 0, -128, 127);
    } else if (f["scale"].IsDefined() || f["zero_point"].IsDefined()) {
      r.fail(f, "fault.scale", "scale and zero_point apply to int8 only");
    }
    if (s.fault.kind == FaultKind::kSetValue) {
      s.fault.value = r.number(f, "value", 0.0, -3.4e38, 3.4e38, "the float32 range");
    } else if (f["value"].IsDefined()) {
      r.fail(f["value"], "fault.value", "only set_value takes a value");
    }
    if (YAML::Node range = f["range"]; range.IsDefined()) {
      if (s.fault.kind != FaultKind::kRandomValue)
        r.fail(range, "fault.range", "only random_value takes a range");
      if (!range.IsSequence() || range.size() != 2)
        r.fail(range, "fault.range", "expected [low, high]");
      try {
        s.fault.low = range[0].as<double>();
        s.fault.high = range[1].as<double>();
      } catch (const YAML::Exception&) {
        r.fail(range, "fault.range", "expected two numbers [low, high]");
      }
      if (!(std::isfinite(s.fault.low) && std::isfinite(s.fault.high) &&
            s.fault.low < s.fault.high && std::abs(s.fault.low) < 3.4e38 &&
            std::abs(s.fault.high) < 3.4e38))
        r.fail(range, "fault.range", "needs finite low < high within the float32 range");
    }
    s.elements = r.integer(f, "elements", 1, 1, 1000000);
  }

  if (YAML::Node sm = root["sampling"]; sm.IsDefined() && !sm.IsNull()) {
    r.check_keys(sm, "sampling", {"mode", "by", "trials", "margin", "confidence", "t", "p"});
    auto mode = r.get<std::string>(sm, "mode", "uniform or stratified", "uniform");
    if (mode == "stratified") {
      s.sampling.mode = SamplingMode::kStratified;
    } else if (mode != "uniform") {
      r.fail(sm["mode"], "sampling.mode",
             "must be uniform (over the whole population) or stratified");
    }
    auto by = r.get<std::string>(sm, "by", "layer, bit or layer_bit", "layer");
    if (by == "bit") {
      s.sampling.by = StrataBy::kBit;
    } else if (by == "layer_bit") {
      s.sampling.by = StrataBy::kLayerBit;
    } else if (by != "layer") {
      r.fail(sm["by"], "sampling.by", "must be layer, bit or layer_bit");
    }
    if (sm["by"].IsDefined() && s.sampling.mode != SamplingMode::kStratified)
      r.fail(sm["by"], "sampling.by", "applies to mode: stratified only");
    // Absent: a statistical plan (margin, confidence); given: at least one trial (0 ran a
    // whole statistical plan, thousands of trials, where a user may have wanted none).
    if (const YAML::Node t = sm["trials"]; t.IsScalar() && t.Scalar() == "0")
      r.fail(t, "sampling.trials",
             "0 runs nothing; give 1 or more, or leave trials out for a statistical plan "
             "(margin, confidence)");
    s.sampling.trials = r.integer(sm, "trials", 0, 1, int64_t{1} << 40);
    bool statistical =
        sm["margin"].IsDefined() || sm["confidence"].IsDefined() || sm["t"].IsDefined();
    if (s.sampling.trials > 0 && statistical)
      r.fail(sm, "sampling",
             "give either trials: N or a statistical plan (margin, confidence), not both");
    s.sampling.margin = r.number(sm, "margin", 0.01, 1e-6, 0.5, "[1e-6, 0.5] (0.01 is 1%)");
    s.sampling.confidence = r.number(sm, "confidence", 0.95, 0.5, 0.999999, "[0.5, 0.999999]");
    s.sampling.t = r.number(sm, "t", 0, 0.1, 10, "[0.1, 10]");
    if (sm["t"].IsDefined() && sm["confidence"].IsDefined())
      r.fail(sm["t"], "sampling.t", "give t or confidence, not both");
    s.sampling.p = r.number(sm, "p", 0.5, 0.001, 0.999, "[0.001, 0.999]");
  }
  if (!s.faults_file.empty() && root["sampling"].IsDefined())
    r.fail(root["faults"], "faults",
           "a campaign replays a fault list or samples one, not both; remove sampling:");
  return s;
}

CampaignSpec load_campaign_spec(const std::string& path) {
  const std::string text =
      read_input_file<ConfigError>(path, "a campaign spec (YAML)", uint64_t{16} << 20);
  CampaignSpec spec = parse_campaign_spec(text, path);
  if (!spec.faults_file.empty()) {
    std::filesystem::path list(spec.faults_file);
    if (list.is_relative()) list = std::filesystem::path(path).parent_path() / list;
    try {
      spec.faults_text =
          read_input_file<ConfigError>(list.string(), "a fault list (CSV)", uint64_t{2} << 30);
    } catch (const ConfigError& e) {
      FG_FAIL(ConfigError, path, ": faults: ", e.what());
    }
    spec.faults_digest = fmt::format("{:016x}", std::hash<std::string>{}(spec.faults_text));
  }
  return spec;
}

double CampaignSpec::t_value() const {
  return sampling.t > 0 ? sampling.t : t_for_confidence(sampling.confidence);
}

std::vector<int> CampaignSpec::population_bits() const {
  bool bit_fault = fault.kind == FaultKind::kBitFlip || fault.kind == FaultKind::kStuckAt0 ||
                   fault.kind == FaultKind::kStuckAt1;
  if (!bit_fault) return {-1};
  if (!fault.bits.empty()) return fault.bits;
  std::vector<int> all(static_cast<size_t>(format_width(fault.format)));
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
  return all;
}

std::string CampaignSpec::canonical() const {
  nlohmann::json j;
  j["inputs"] = {{"split", inputs.split},
                 {"count", inputs.count},
                 {"random", inputs.random},
                 {"correct_only", inputs.correct_only}};
  j["targets"] = nlohmann::json::array();
  for (const auto& t : targets)
    j["targets"].push_back(
        {{"node", t.node}, {"op", t.op}, {"site", site_kind_name(t.site)}, {"index", t.index}});
  j["fault"] = {{"model", kind_name(fault.kind)},      {"bits", population_bits()},
                {"format", format_name(fault.format)}, {"scale", fault.scale},
                {"zero_point", fault.zero_point},      {"value", fault.value},
                {"range", {fault.low, fault.high}},    {"elements", elements}};
  j["sampling"] = {{"mode", sampling.mode == SamplingMode::kUniform ? "uniform" : "stratified"},
                   {"by", sampling.by == StrataBy::kLayer ? "layer"
                          : sampling.by == StrataBy::kBit ? "bit"
                                                          : "layer_bit"},
                   {"trials", sampling.trials},
                   {"margin", sampling.margin},
                   {"t", t_value()},
                   {"p", sampling.p}};
  j["seed"] = seed;
  j["dataset_options"] = {{"image_size", dataset_options.image_size},
                          {"channels", dataset_options.channels},
                          {"test_fraction", dataset_options.test_fraction},
                          {"split_seed", dataset_options.split_seed}};
  j["faults"] = faults_file.empty() ? "" : "list " + faults_digest;
  return j.dump();  // nlohmann::json keeps keys sorted
}

}  // namespace fg
