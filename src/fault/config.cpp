#include "faultgraph/fault/config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <type_traits>

#include "faultgraph/core/error.h"
#include "faultgraph/core/files.h"

namespace fg {

namespace {

// Entry-level problems; caught per entry.
struct EntryError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <typename... Parts>
[[noreturn]] void entry_fail(Parts&&... parts) {
  throw EntryError(detail::concat(std::forward<Parts>(parts)...));
}

template <typename T>
T get(const YAML::Node& n, const std::string& key, const char* expected) {
  try {
    return n[key].as<T>();
  } catch (const YAML::Exception&) {
    // Digits that do not fit the type are a number out of range, not "not an integer".
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      const std::string t = n[key].IsScalar() ? n[key].Scalar() : "";
      const size_t d = !t.empty() && (t[0] == '-' || t[0] == '+') ? 1 : 0;
      if (t.size() > d && t.find_first_not_of("0123456789", d) == std::string::npos)
        entry_fail(key, ": ", t, " is out of range (", expected, " of at most ",
                   std::numeric_limits<T>::max(), ")");
    }
    entry_fail(key, ": expected ", expected, ", got '", YAML::Dump(n[key]), "'");
  }
}

const std::set<std::string> kSeedKeys = {"layer_name", "fault_type", "bit_flip_type", "bit_number",
                                         "probability"};
const std::set<std::string> kExtendedKeys = {
    "name",       "layer_name",  "node",     "site",        "index",     "fault",  "bits",
    "bit",        "random_bit",  "adjacent", "value",       "range",     "format", "scale",
    "zero_point", "probability", "count",    "coordinates", "per_sample"};

// An entry has the seed's (InjectTFParallel's) keys (`seed`: it has fault_type or
// bit_flip_type) or the extended format's; a key of the other format is named as such, not
// as a typo.
void check_keys(const YAML::Node& entry, bool seed) {
  const std::set<std::string>& allowed = seed ? kSeedKeys : kExtendedKeys;
  const std::set<std::string>& other = seed ? kExtendedKeys : kSeedKeys;
  std::set<std::string> seen;
  for (const auto& kv : entry) {
    if (!kv.first.IsScalar()) entry_fail("keys must be plain words, not lists or maps");
    auto key = kv.first.as<std::string>();
    if (!seen.insert(key).second) entry_fail(key, ": given twice; keep one");
    if (allowed.count(key) != 0) continue;
    if (other.count(key) != 0 && seed) {
      entry_fail("'", key,
                 "' is a key of the extended format, and this entry is in the seed's "
                 "(InjectTFParallel's: it has fault_type or bit_flip_type; keys layer_name, "
                 "fault_type, bit_flip_type, bit_number, probability): for one bit use "
                 "bit_flip_type: SpecificBit with bit_number, or write the entry with the "
                 "extended format's keys only (node, fault, bit, ...)");
    }
    if (other.count(key) != 0) {
      entry_fail("'", key,
                 "' is a key of the seed's format (InjectTFParallel's: entries with fault_type "
                 "and bit_flip_type); in the extended format (node, fault, bit, bits, ...) a bit "
                 "is bit: N");
    }
    // A typo may be of either format's keys (fault_typo: no fault_type left to tell them).
    std::vector<std::string> known(kSeedKeys.begin(), kSeedKeys.end());
    known.insert(known.end(), kExtendedKeys.begin(), kExtendedKeys.end());
    auto near = closest_names(key, known, 1);
    entry_fail("unknown key '", key, "'", near.empty() ? "" : "; did you mean '" + near[0] + "'?");
  }
}

void check_node(const Graph& g, const std::string& name, const char* key) {
  if (g.find_node(name)) return;
  std::vector<std::string> names;
  for (const Node& n : g.nodes()) names.push_back(n.name);
  auto near = closest_names(name, names);
  entry_fail(key, ": no layer named '", name, "' in the model",
             near.empty() ? "" : fmt::format("; did you mean '{}'?", fmt::join(near, "', '")));
}

double probability_of(const YAML::Node& e) {
  double p = get<double>(e, "probability", "a number in [0, 1]");
  if (p < 0 || p > 1) entry_fail("probability: ", p, " is outside [0, 1]");
  return p;
}

PlannedFault seed_entry(const YAML::Node& e, const Graph& g) {
  check_keys(e, true);
  PlannedFault f;
  if (!e["layer_name"])
    entry_fail("layer_name: missing (the layer after which the fault is inserted)");
  f.site = {SiteKind::kActivation, get<std::string>(e, "layer_name", "a layer name"), 0};
  check_node(g, f.site.node, "layer_name");
  auto type = get<std::string>(e, "fault_type", "BitFlip");
  if (type != "BitFlip") entry_fail("fault_type: '", type, "' is not supported; use BitFlip");
  if (!e["bit_flip_type"]) entry_fail("bit_flip_type: missing; use RandomBit or SpecificBit");
  auto flip = get<std::string>(e, "bit_flip_type", "RandomBit or SpecificBit");
  f.spec.kind = FaultKind::kBitFlip;
  if (flip == "RandomBit") {
    f.spec.random_bit = true;
  } else if (flip == "SpecificBit") {
    if (!e["bit_number"]) entry_fail("bit_number: missing (SpecificBit needs one, 0..31 for fp32)");
    int bit = get<int>(e, "bit_number", "an integer");
    if (bit < 0 || bit > 31) {
      entry_fail("bit_number: ", bit,
                 " is outside 0..31 (values are fp32: 32 bits, bit 0 the least "
                 "significant, 31 the sign)");
    }
    f.spec.bits = {bit};
  } else {
    entry_fail("bit_flip_type: '", flip, "' is not one of RandomBit, SpecificBit");
  }
  f.spec.probability = e["probability"] ? probability_of(e) : 1.0;
  return f;
}

SiteKind site_kind(const std::string& s) {
  static const std::vector<std::pair<std::string, SiteKind>> kinds = {
      {"activation", SiteKind::kActivation},
      {"input", SiteKind::kInputEdge},
      {"weight", SiteKind::kWeight},
      {"bias", SiteKind::kBias},
      {"model_input", SiteKind::kModelInput}};
  for (const auto& [n, k] : kinds) {
    if (n == s) return k;
  }
  entry_fail("site: '", s, "' is not one of activation, input, weight, bias, model_input");
}

PlannedFault extended_entry(const YAML::Node& e, const Graph& g) {
  check_keys(e, false);
  PlannedFault f;
  FaultSpec& s = f.spec;
  std::string node = e["node"]         ? get<std::string>(e, "node", "a node name")
                     : e["layer_name"] ? get<std::string>(e, "layer_name", "a layer name")
                                       : "";
  f.site.kind =
      e["site"] ? site_kind(get<std::string>(e, "site", "a site kind")) : SiteKind::kActivation;
  f.site.index = e["index"] ? get<int>(e, "index", "an integer") : 0;
  if (node.empty()) entry_fail("node: missing (the node, or model input, the fault is placed at)");
  f.site.node = node;
  if (f.site.kind != SiteKind::kModelInput) check_node(g, node, e["node"] ? "node" : "layer_name");

  std::string kind = e["fault"] ? get<std::string>(e, "fault", "a fault kind") : "bit_flip";
  auto k = kind_from_name(kind);
  if (!k)
    entry_fail("fault: '", kind,
               "' is not one of bit_flip, stuck_at_0, stuck_at_1, set_value, random_value");
  s.kind = *k;
  std::string format = e["format"] ? get<std::string>(e, "format", "a number format") : "fp32";
  auto fmt_kind = format_from_name(format);
  if (!fmt_kind) entry_fail("format: '", format, "' is not one of fp32, fp16, bf16, int8");
  s.format = *fmt_kind;
  if (e["scale"]) s.scale = get<double>(e, "scale", "a positive number");
  if (e["zero_point"]) s.zero_point = get<int64_t>(e, "zero_point", "an integer");

  int width = format_width(s.format);
  auto check_bit = [&](int b, const char* key) {
    if (b < 0 || b >= width) {
      entry_fail(key, ": ", b, " is outside 0..", width - 1, " (", format, " values have ", width,
                 " bits; bit 0 is the least significant)");
    }
  };
  if (e["bit"]) {
    s.bits = {get<int>(e, "bit", "an integer")};
    check_bit(s.bits[0], "bit");
  }
  if (e["bits"]) {
    s.bits = get<std::vector<int>>(e, "bits", "a list of integers");
    for (int b : s.bits) check_bit(b, "bits");
  }
  if (e["random_bit"]) s.random_bit = get<bool>(e, "random_bit", "true or false");
  if (s.random_bit && !s.bits.empty())
    entry_fail("random_bit: true and bit/bits exclude each other; keep one");
  if (s.format == NumberFormat::kInt8 && !e["scale"])
    entry_fail(
        "scale: missing; int8 needs the tensor's quantisation scale (and zero_point, "
        "default 0)");
  bool bit_fault = s.kind == FaultKind::kBitFlip || s.kind == FaultKind::kStuckAt0 ||
                   s.kind == FaultKind::kStuckAt1;
  if (bit_fault && s.bits.empty() && !s.random_bit)
    entry_fail("bits: missing; give bit, bits or random_bit: true");
  if (e["adjacent"]) s.adjacent = get<int>(e, "adjacent", "an integer");
  if (e["value"]) s.value = get<double>(e, "value", "a number");
  if (e["range"]) {
    auto r = get<std::vector<double>>(e, "range", "[low, high]");
    if (r.size() != 2 || !(r[0] < r[1])) entry_fail("range: expected [low, high] with low < high");
    s.low = r[0];
    s.high = r[1];
  }
  int selections = (e["probability"] ? 1 : 0) + (e["count"] ? 1 : 0) + (e["coordinates"] ? 1 : 0);
  if (selections > 1) entry_fail("give one of probability, count, coordinates");
  if (e["count"]) {
    s.selection = Selection::kCount;
    s.count = get<int64_t>(e, "count", "a non-negative integer");
  } else if (e["coordinates"]) {
    s.selection = Selection::kCoordinates;
    s.coordinates = get<std::vector<int64_t>>(e, "coordinates", "a list of flat element indices");
  } else if (e["probability"]) {
    s.probability = probability_of(e);
  }
  if (e["per_sample"]) s.per_sample = get<bool>(e, "per_sample", "true or false");
  return f;
}

}  // namespace

FaultConfig parse_fault_config(const std::string& text, const std::string& source, const Graph& g) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    FG_FAIL(ConfigError, source, ":", e.mark.line + 1, ": not valid YAML: ", e.msg,
            yaml_tab_hint(text, e.mark.line + 1));
  }
  FaultConfig config;
  YAML::Node list = root;
  if (root.IsMap()) {
    std::set<std::string> seen;
    for (const auto& kv : root) {
      FG_CHECK(kv.first.IsScalar(), ConfigError, source, ":", kv.first.Mark().line + 1,
               ": top-level keys must be plain words (seed, faults), not lists or maps");
      auto key = kv.first.as<std::string>();
      FG_CHECK(key == "seed" || key == "faults", ConfigError, source, ":", kv.first.Mark().line + 1,
               ": unknown top-level key '", key, "' (expected seed and faults)");
      FG_CHECK(seen.insert(key).second, ConfigError, source, ":", kv.first.Mark().line + 1, ": ",
               key, " is given twice; keep one");
    }
    if (root["seed"]) {
      try {
        config.seed = root["seed"].as<uint64_t>();
      } catch (const YAML::Exception&) {
        FG_FAIL(ConfigError, source, ":", root["seed"].Mark().line + 1,
                ": seed must be a non-negative integer");
      }
    }
    list = root["faults"];
  }
  FG_CHECK(list && list.IsSequence(), ConfigError, source,
           ": expected a list of fault entries (or a map with 'faults:' holding one)");
  int index = 0;
  for (const auto& e : list) {
    FaultConfigEntry entry;
    entry.index = ++index;
    entry.line = e.Mark().line + 1;
    std::string where = fmt::format("{}:{}: entry {}", source, entry.line, entry.index);
    try {
      if (!e.IsMap()) entry_fail("expected a map of keys (layer_name, fault_type, ...)");
      bool seed_style = static_cast<bool>(e["fault_type"]) || static_cast<bool>(e["bit_flip_type"]);
      PlannedFault f = seed_style ? seed_entry(e, g) : extended_entry(e, g);
      f.spec.seed = config.seed;
      f.spec.fault_id = static_cast<uint64_t>(entry.index);
      validate(f.spec, where);
      // The seed's users name faults by layer; extended entries may carry a name.
      if (e["name"] && !e["name"].IsScalar())
        entry_fail("name: expected a word, not a list or map");
      entry.label = e["name"]                         ? e["name"].as<std::string>()
                    : (seed_style || e["layer_name"]) ? f.site.node
                                                      : describe(f.site);
      entry.fault = std::move(f);
    } catch (const EntryError& err) {
      entry.error = fmt::format("{}: {}", where, err.what());
    } catch (const ConfigError& err) {
      entry.error = err.what();
    } catch (const YAML::Exception& err) {
      entry.error = fmt::format("{}: {} (line {}, column {})", where,
                                "a value of the wrong kind (a list or map where a word or "
                                "number belongs)",
                                err.mark.line + 1, err.mark.column + 1);
    }
    if (entry.label.empty() && e.IsMap() && e["layer_name"] && e["layer_name"].IsScalar()) {
      entry.label = e["layer_name"].as<std::string>("?");
    }
    config.entries.push_back(std::move(entry));
  }
  return config;
}

FaultConfig load_fault_config(const std::string& path, const Graph& g) {
  const std::string text = read_input_file<ConfigError>(
      path, "a fault configuration file (a YAML list of faults)", uint64_t{16} << 20);
  FG_CHECK(text.find('\0') == std::string::npos, ConfigError, path,
           ": holds NUL bytes; not a fault configuration (a YAML text file)");
  return parse_fault_config(text, path, g);
}

}  // namespace fg
