#include "faultgraph/fault/fault_model.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>
#include <unordered_set>

#include "faultgraph/core/error.h"
#include "faultgraph/fault/rng.h"

namespace fg {

namespace {
// Purposes of the random streams of one fault and sample.
constexpr uint64_t kElements = 1, kBits = 2, kValues = 3;
}  // namespace

int format_width(NumberFormat f) {
  switch (f) {
    case NumberFormat::kFp32:
      return 32;
    case NumberFormat::kFp16:
    case NumberFormat::kBf16:
      return 16;
    case NumberFormat::kInt8:
      return 8;
  }
  return 32;
}

std::string format_name(NumberFormat f) {
  switch (f) {
    case NumberFormat::kFp32:
      return "fp32";
    case NumberFormat::kFp16:
      return "fp16";
    case NumberFormat::kBf16:
      return "bf16";
    case NumberFormat::kInt8:
      return "int8";
  }
  return "?";
}

std::string kind_name(FaultKind k) {
  switch (k) {
    case FaultKind::kBitFlip:
      return "bit_flip";
    case FaultKind::kStuckAt0:
      return "stuck_at_0";
    case FaultKind::kStuckAt1:
      return "stuck_at_1";
    case FaultKind::kSetValue:
      return "set_value";
    case FaultKind::kRandomValue:
      return "random_value";
  }
  return "?";
}

std::string selection_name(Selection s) {
  switch (s) {
    case Selection::kProbability:
      return "probability";
    case Selection::kCount:
      return "count";
    case Selection::kCoordinates:
      return "coordinates";
  }
  return "?";
}

namespace {
template <typename E, typename NameFn>
std::optional<E> from_name(std::string_view name, std::initializer_list<E> all, NameFn name_of) {
  for (E e : all) {
    if (name_of(e) == name) return e;
  }
  return std::nullopt;
}
}  // namespace

std::optional<NumberFormat> format_from_name(std::string_view name) {
  return from_name(
      name, {NumberFormat::kFp32, NumberFormat::kFp16, NumberFormat::kBf16, NumberFormat::kInt8},
      format_name);
}

std::optional<FaultKind> kind_from_name(std::string_view name) {
  return from_name(name,
                   {FaultKind::kBitFlip, FaultKind::kStuckAt0, FaultKind::kStuckAt1,
                    FaultKind::kSetValue, FaultKind::kRandomValue},
                   kind_name);
}

std::optional<Selection> selection_from_name(std::string_view name) {
  return from_name(name, {Selection::kProbability, Selection::kCount, Selection::kCoordinates},
                   selection_name);
}

void validate(const FaultSpec& s, const std::string& where) {
  int width = format_width(s.format);
  bool bit_fault = s.kind == FaultKind::kBitFlip || s.kind == FaultKind::kStuckAt0 ||
                   s.kind == FaultKind::kStuckAt1;
  if (bit_fault) {
    FG_CHECK(s.random_bit || !s.bits.empty(), ConfigError, where,
             ": a bit fault needs bits or a random bit");
    for (int b : s.bits) {
      FG_CHECK(b >= 0 && b < width, ConfigError, where, ": bit ", b, " is outside 0..", width - 1,
               " (", format_name(s.format), " values have ", width,
               " bits; bit 0 is the least significant)");
    }
    FG_CHECK(s.adjacent >= 1 && s.adjacent <= width, ConfigError, where,
             ": adjacent must be in 1..", width);
    for (int b : s.bits) {
      FG_CHECK(b + s.adjacent <= width, ConfigError, where, ": bit ", b, " with adjacent ",
               s.adjacent, " reaches past bit ", width - 1, " (", format_name(s.format),
               "); choose a lower bit or fewer adjacent bits");
    }
    FG_CHECK(!s.random_bit || s.bits.empty(), ConfigError, where,
             ": random_bit and listed bits exclude each other");
  }
  FG_CHECK(s.probability >= 0.0 && s.probability <= 1.0, ConfigError, where, ": probability ",
           s.probability, " is outside [0, 1]");
  FG_CHECK(s.count >= 0, ConfigError, where, ": count must not be negative");
  FG_CHECK(s.kind != FaultKind::kRandomValue || s.low < s.high, ConfigError, where,
           ": random value range needs low < high");
  FG_CHECK(s.format != NumberFormat::kInt8 || (s.scale > 0 && std::isfinite(s.scale)), ConfigError,
           where, ": int8 needs a positive, finite scale");
  FG_CHECK(s.format != NumberFormat::kInt8 || (s.zero_point >= -128 && s.zero_point <= 127),
           ConfigError, where, ": zero_point ", s.zero_point, " is outside -128..127 (int8)");
  constexpr double kFloatMax = 3.4028234663852886e38;
  FG_CHECK(s.kind != FaultKind::kSetValue || std::abs(s.value) <= kFloatMax, ConfigError, where,
           ": value ", s.value, " is outside the float32 range (+/- 3.4e38)");
  FG_CHECK(s.kind != FaultKind::kRandomValue ||
               (std::abs(s.low) <= kFloatMax && std::abs(s.high) <= kFloatMax),
           ConfigError, where, ": range [", s.low, ", ", s.high,
           "] is outside the float32 range (+/- 3.4e38)");
}

std::vector<int64_t> select_elements(const FaultSpec& s, int64_t numel, int64_t sample) {
  std::vector<int64_t> pos;
  uint64_t stream_sample = s.per_sample ? static_cast<uint64_t>(sample) : 0;
  CounterRng rng(s.seed, stream_id(s.fault_id, stream_sample, kElements));
  switch (s.selection) {
    case Selection::kCoordinates:
      for (int64_t c : s.coordinates) {
        FG_CHECK(c >= 0 && c < numel, ConfigError, "fault coordinate ", c,
                 " is outside the value's ", numel, " elements per sample");
        pos.push_back(c);
      }
      break;
    case Selection::kCount: {
      int64_t k = std::min(s.count, numel);
      // Floyd's algorithm: k distinct uniform indices with k draws.
      std::unordered_set<int64_t> chosen;
      for (int64_t j = numel - k; j < numel; ++j) {
        auto t =
            static_cast<int64_t>(rng.below(static_cast<uint64_t>(j), static_cast<uint64_t>(j + 1)));
        if (!chosen.insert(t).second) chosen.insert(j);
      }
      pos.assign(chosen.begin(), chosen.end());
      std::sort(pos.begin(), pos.end());
      break;
    }
    case Selection::kProbability: {
      double p = s.probability;
      if (p <= 0.0) break;
      if (p >= 1.0) {
        pos.resize(static_cast<size_t>(numel));
        for (int64_t i = 0; i < numel; ++i) pos[static_cast<size_t>(i)] = i;
        break;
      }
      // Geometric gaps between hits: O(hits) draws, same distribution as one Bernoulli
      // draw per element.
      double log_q = std::log1p(-p);
      int64_t i = -1;
      for (uint64_t draw = 0;; ++draw) {
        double u = 1.0 - rng.uniform(draw);  // (0, 1]
        double gap = std::floor(std::log(u) / log_q);
        if (gap >= static_cast<double>(numel)) break;
        i += static_cast<int64_t>(gap) + 1;
        if (i >= numel) break;
        pos.push_back(i);
      }
      break;
    }
  }
  return pos;
}

namespace {

// Bit masks (in the format's integer width) for each selected element.
std::vector<int64_t> masks(const FaultSpec& s, size_t n, int64_t sample) {
  int width = format_width(s.format);
  uint64_t stream_sample = s.per_sample ? static_cast<uint64_t>(sample) : 0;
  CounterRng rng(s.seed, stream_id(s.fault_id, stream_sample, kBits));
  auto spread = [&](int bit) {
    int64_t m = 0;
    for (int j = 0; j < s.adjacent && bit + j < width; ++j) m |= int64_t{1} << (bit + j);
    return m;
  };
  int64_t fixed = 0;
  for (int b : s.bits) fixed |= spread(b);
  std::vector<int64_t> out(n, fixed);
  if (s.random_bit) {
    for (size_t i = 0; i < n; ++i)
      out[i] = spread(static_cast<int>(rng.below(i, static_cast<uint64_t>(width))));
  }
  return out;
}

// The selected values, as integers of the format's width (in int64).
at::Tensor encode(const at::Tensor& v, const FaultSpec& s) {
  switch (s.format) {
    case NumberFormat::kFp32:
      return v.to(at::kFloat).view(at::kInt).to(at::kLong);
    case NumberFormat::kFp16:
      return v.to(at::kHalf).view(at::kShort).to(at::kLong);
    case NumberFormat::kBf16:
      return v.to(at::kBFloat16).view(at::kShort).to(at::kLong);
    case NumberFormat::kInt8:
      return at::clamp(at::round(v.to(at::kDouble) / s.scale) + static_cast<double>(s.zero_point),
                       -128, 127)
          .to(at::kLong);
  }
  return v;
}

at::Tensor decode(const at::Tensor& q, const FaultSpec& s, at::ScalarType out_type) {
  switch (s.format) {
    case NumberFormat::kFp32:
      return q.to(at::kInt).view(at::kFloat).to(out_type);
    case NumberFormat::kFp16:
      return q.to(at::kShort).view(at::kHalf).to(out_type);
    case NumberFormat::kBf16:
      return q.to(at::kShort).view(at::kBFloat16).to(out_type);
    case NumberFormat::kInt8:
      // to(kChar) wraps the low 8 bits: the corrupted two's-complement integer.
      return ((q.to(at::kChar).to(at::kDouble) - static_cast<double>(s.zero_point)) * s.scale)
          .to(out_type);
  }
  return q;
}

at::Tensor corrupt(const at::Tensor& values, const FaultSpec& s, int64_t sample) {
  auto n = static_cast<size_t>(values.numel());
  switch (s.kind) {
    case FaultKind::kSetValue:
      return at::full_like(values, s.value);
    case FaultKind::kRandomValue: {
      uint64_t stream_sample = s.per_sample ? static_cast<uint64_t>(sample) : 0;
      CounterRng rng(s.seed, stream_id(s.fault_id, stream_sample, kValues));
      at::Tensor out = at::empty({static_cast<int64_t>(n)}, at::kDouble);
      auto* p = out.data_ptr<double>();
      for (size_t i = 0; i < n; ++i) p[i] = s.low + (s.high - s.low) * rng.uniform(i);
      return out.to(values.scalar_type());
    }
    default:
      break;
  }
  at::Tensor q = encode(values, s);
  auto m = masks(s, n, sample);
  at::Tensor mask = at::tensor(m, at::kLong);
  if (s.kind == FaultKind::kBitFlip) {
    q = at::bitwise_xor(q, mask);
  } else if (s.kind == FaultKind::kStuckAt0) {
    q = at::bitwise_and(q, at::bitwise_not(mask));
  } else {
    q = at::bitwise_or(q, mask);
  }
  return decode(q, s, values.scalar_type());
}

}  // namespace

ElementFaults corrupt_elements(const at::Tensor& x, const FaultSpec& s, bool batched,
                               int64_t first_sample) {
  FG_CHECK(x.is_floating_point(), UsageError, "faults apply to floating-point values, got ",
           c10::toString(x.scalar_type()));
  at::Tensor flat = x.contiguous().view({-1});
  int64_t samples = batched && x.dim() > 0 ? x.size(0) : 1;
  int64_t per = samples == 0 ? 0 : x.numel() / samples;
  std::vector<at::Tensor> all_positions, all_values;
  for (int64_t b = 0; b < samples; ++b) {
    int64_t sample = batched ? first_sample + b : 0;
    auto pos = select_elements(s, per, sample);
    if (pos.empty()) continue;
    at::Tensor idx = at::tensor(pos, at::kLong) + b * per;
    all_values.push_back(corrupt(flat.index_select(0, idx), s, sample));
    all_positions.push_back(idx);
  }
  if (all_positions.empty()) return {at::empty({0}, at::kLong), at::empty({0}, x.options())};
  return {at::cat(all_positions), at::cat(all_values)};
}

FaultResult apply_fault(const at::Tensor& x, const FaultSpec& s, bool batched,
                        int64_t first_sample) {
  ElementFaults e = corrupt_elements(x, s, batched, first_sample);
  at::Tensor out = x.contiguous().clone();
  // Samples' elements never overlap, and every corrupted value was computed from x: the
  // same copy whatever the order of the writes.
  if (e.positions.numel() > 0) out.view({-1}).index_copy_(0, e.positions, e.values);
  return {out, e.positions};
}

}  // namespace fg
