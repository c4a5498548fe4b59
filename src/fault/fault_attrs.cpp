#include <fmt/format.h>

#include "faultgraph/core/error.h"
#include "faultgraph/fault/fault_model.h"

namespace fg {

namespace {
template <typename E>
E parse_enum(const std::string& text, const std::vector<std::pair<std::string, E>>& names,
             const std::string& where, const char* what) {
  std::string all;
  for (const auto& [n, e] : names) {
    if (n == text) return e;
    all += (all.empty() ? "" : ", ") + n;
  }
  FG_FAIL(ModelFormatError, where, ": ", what, " '", text, "' is not one of ", all);
}

const std::vector<std::pair<std::string, FaultKind>> kKinds = {
    {"bit_flip", FaultKind::kBitFlip}, {"stuck_at_0", FaultKind::kStuckAt0},
    {"stuck_at_1", FaultKind::kStuckAt1}, {"set_value", FaultKind::kSetValue},
    {"random_value", FaultKind::kRandomValue}};
const std::vector<std::pair<std::string, NumberFormat>> kFormats = {
    {"fp32", NumberFormat::kFp32}, {"fp16", NumberFormat::kFp16}, {"bf16", NumberFormat::kBf16},
    {"int8", NumberFormat::kInt8}};
const std::vector<std::pair<std::string, Selection>> kSelections = {
    {"probability", Selection::kProbability}, {"count", Selection::kCount},
    {"coordinates", Selection::kCoordinates}};

template <typename E>
std::string name_of(E e, const std::vector<std::pair<std::string, E>>& names) {
  for (const auto& [n, v] : names) {
    if (v == e) return n;
  }
  return "?";
}
}  // namespace

Attrs to_attrs(const FaultSpec& s, bool batched) {
  Attrs a;
  a.set("kind", name_of(s.kind, kKinds));
  a.set("bits", std::vector<int64_t>(s.bits.begin(), s.bits.end()));
  a.set("random_bit", int64_t{s.random_bit});
  a.set("adjacent", int64_t{s.adjacent});
  a.set("value", s.value);
  a.set("low", s.low);
  a.set("high", s.high);
  a.set("format", name_of(s.format, kFormats));
  a.set("scale", s.scale);
  a.set("zero_point", s.zero_point);
  a.set("selection", name_of(s.selection, kSelections));
  a.set("probability", s.probability);
  a.set("count", s.count);
  a.set("coordinates", s.coordinates);
  a.set("per_sample", int64_t{s.per_sample});
  // Seeds and ids are 64-bit; ONNX integers are signed 64-bit, so the bits are kept as is.
  a.set("seed", static_cast<int64_t>(s.seed));
  a.set("fault_id", static_cast<int64_t>(s.fault_id));
  a.set("batched", int64_t{batched});
  return a;
}

FaultSpec spec_from_attrs(const Attrs& a, const std::string& where) {
  FaultSpec s;
  s.kind = parse_enum(a.get_string("kind", "bit_flip"), kKinds, where, "kind");
  for (int64_t b : a.get_ints("bits")) s.bits.push_back(static_cast<int>(b));
  s.random_bit = a.get_int("random_bit", 0) != 0;
  s.adjacent = static_cast<int>(a.get_int("adjacent", 1));
  s.value = a.get_float("value", 0.0);
  s.low = a.get_float("low", -1.0);
  s.high = a.get_float("high", 1.0);
  s.format = parse_enum(a.get_string("format", "fp32"), kFormats, where, "format");
  s.scale = a.get_float("scale", 1.0);
  s.zero_point = a.get_int("zero_point", 0);
  s.selection = parse_enum(a.get_string("selection", "probability"), kSelections, where, "selection");
  s.probability = a.get_float("probability", 1.0);
  s.count = a.get_int("count", 1);
  s.coordinates = a.get_ints("coordinates");
  s.per_sample = a.get_int("per_sample", 0) != 0;
  s.seed = static_cast<uint64_t>(a.get_int("seed", 0));
  s.fault_id = static_cast<uint64_t>(a.get_int("fault_id", 0));
  try {
    validate(s, where);
  } catch (const ConfigError& e) {
    throw ModelFormatError(e.what());
  }
  return s;
}

}  // namespace fg
