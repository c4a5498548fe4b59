#include <fmt/format.h>

#include "faultgraph/core/error.h"
#include "faultgraph/fault/fault_model.h"

namespace fg {

namespace {
template <typename E>
E required(std::optional<E> e, const std::string& text, const std::string& where,
           const char* what) {
  FG_CHECK(e.has_value(), ModelFormatError, where, ": ", what, " '", text, "' is not known");
  return *e;
}
}  // namespace

Attrs to_attrs(const FaultSpec& s, bool batched) {
  Attrs a;
  a.set("kind", kind_name(s.kind));
  a.set("bits", std::vector<int64_t>(s.bits.begin(), s.bits.end()));
  a.set("random_bit", int64_t{s.random_bit});
  a.set("adjacent", int64_t{s.adjacent});
  a.set("value", s.value);
  a.set("low", s.low);
  a.set("high", s.high);
  a.set("format", format_name(s.format));
  a.set("scale", s.scale);
  a.set("zero_point", s.zero_point);
  a.set("selection", selection_name(s.selection));
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
  std::string kind = a.get_string("kind", "bit_flip");
  s.kind = required(kind_from_name(kind), kind, where, "kind");
  for (int64_t b : a.get_ints("bits")) s.bits.push_back(static_cast<int>(b));
  s.random_bit = a.get_int("random_bit", 0) != 0;
  s.adjacent = static_cast<int>(a.get_int("adjacent", 1));
  s.value = a.get_float("value", 0.0);
  s.low = a.get_float("low", -1.0);
  s.high = a.get_float("high", 1.0);
  std::string format = a.get_string("format", "fp32");
  s.format = required(format_from_name(format), format, where, "format");
  s.scale = a.get_float("scale", 1.0);
  s.zero_point = a.get_int("zero_point", 0);
  std::string selection = a.get_string("selection", "probability");
  s.selection = required(selection_from_name(selection), selection, where, "selection");
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
