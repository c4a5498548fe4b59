// Fault models and their application to tensors (DESIGN.md, "Fault model").
//
// A fault corrupts selected elements of a tensor in their real stored representation:
// fp32 (the IEEE-754 bits of the value itself), fp16 or bf16 (the value rounded to that
// format, corrupted, widened back), or int8 with a scale and zero point (quantised,
// corrupted as an integer, dequantised). Bit 0 is the least significant bit; the fp32
// sign bit is 31, the fp16/bf16 sign bit 15, the int8 sign bit 7.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fg {

enum class FaultKind {
  kBitFlip,      // invert the chosen bits
  kStuckAt0,     // force the chosen bits to 0
  kStuckAt1,     // force the chosen bits to 1
  kSetValue,     // replace the value (zero by default)
  kRandomValue,  // replace the value by one uniform in [low, high)
};

enum class NumberFormat { kFp32, kFp16, kBf16, kInt8 };

// Which elements of a sample are hit.
enum class Selection {
  kProbability,  // each element independently with `probability` (the seed's setting)
  kCount,        // `count` distinct elements chosen uniformly
  kCoordinates,  // the listed flat indices within a sample
};

struct FaultSpec {
  FaultKind kind = FaultKind::kBitFlip;
  // Bits for bit faults: the listed ones; or, when `random_bit`, one uniformly random bit of
  // the format per corrupted element; `adjacent` > 1 extends each chosen bit to that many
  // adjacent bits upwards (a multi-bit upset); a listed bit whose run would pass the top
  // bit is refused (validate), a random bit's run is clipped at the top bit.
  std::vector<int> bits;
  bool random_bit = false;
  int adjacent = 1;
  double value = 0.0;             // kSetValue
  double low = -1.0, high = 1.0;  // kRandomValue
  NumberFormat format = NumberFormat::kFp32;
  double scale = 1.0;      // kInt8
  int64_t zero_point = 0;  // kInt8

  Selection selection = Selection::kProbability;
  double probability = 1.0;
  int64_t count = 1;
  std::vector<int64_t> coordinates;
  // A batch's samples get independent elements (and random bits) when true; the same
  // ones when false.
  bool per_sample = false;

  uint64_t seed = 0;
  uint64_t fault_id = 0;
};

int format_width(NumberFormat f);
// The names used in configuration files and Fault node attributes, and back.
std::string format_name(NumberFormat f);
std::string kind_name(FaultKind k);
std::string selection_name(Selection s);
std::optional<NumberFormat> format_from_name(std::string_view name);
std::optional<FaultKind> kind_from_name(std::string_view name);
std::optional<Selection> selection_from_name(std::string_view name);

// Throws ConfigError naming `where` when the spec is inconsistent (a bit outside the
// format's width, probability outside [0, 1], ...).
void validate(const FaultSpec& spec, const std::string& where);

struct FaultResult {
  at::Tensor output;     // a corrupted copy; the input is never modified
  at::Tensor positions;  // int64 flat indices (into the whole tensor) that were corrupted
};

// Applies `spec` to `x`. With `batched`, dim 0 indexes samples and elements are chosen
// within each sample, keyed by the sample's dataset index (`first_sample` + its place in
// the batch), so the same seed gives the same faults whatever the batch size; otherwise
// the whole tensor is one sample (weights).
FaultResult apply_fault(const at::Tensor& x, const FaultSpec& spec, bool batched,
                        int64_t first_sample = 0);

// What apply_fault does, without the copy: the flat indices it corrupts and their corrupted
// values (x's dtype), in the same order. apply_fault is a copy of x with these written in.
struct ElementFaults {
  at::Tensor positions;  // int64
  at::Tensor values;
};
ElementFaults corrupt_elements(const at::Tensor& x, const FaultSpec& spec, bool batched,
                               int64_t first_sample = 0);

// Element positions within one sample of `numel` elements, for sample `sample`.
std::vector<int64_t> select_elements(const FaultSpec& spec, int64_t numel, int64_t sample);

}  // namespace fg

#include "faultgraph/ir/attrs.h"

namespace fg {
// A FaultSpec as the attributes of a Fault node (ONNX-compatible, so a faulty model can be
// saved and reopened), and back. `batched`: see apply_fault.
Attrs to_attrs(const FaultSpec& spec, bool batched);
FaultSpec spec_from_attrs(const Attrs& attrs, const std::string& where);
}  // namespace fg
