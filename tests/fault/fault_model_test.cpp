#include "faultgraph/fault/fault_model.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "faultgraph/core/error.h"
#include "faultgraph/exec/executor.h"

namespace fg {
namespace {

FaultSpec flip(std::vector<int> bits, double p = 1.0) {
  FaultSpec s;
  s.kind = FaultKind::kBitFlip;
  s.bits = std::move(bits);
  s.probability = p;
  return s;
}

TEST(FaultModel, ProbabilityZeroChangesNothing) {
  at::Tensor x = at::randn({4, 7, 5});
  FaultSpec s = flip({}, 0.0);
  s.random_bit = true;
  FaultResult r = apply_fault(x, s, true);
  EXPECT_TRUE(bitwise_equal(r.output, x));
  EXPECT_EQ(r.positions.numel(), 0);
}

TEST(FaultModel, Bit31WithProbabilityOneNegatesEveryElement) {
  at::Tensor x = at::randn({3, 11});
  FaultResult r = apply_fault(x, flip({31}), true);
  EXPECT_TRUE(bitwise_equal(r.output, -x));
  EXPECT_EQ(r.positions.numel(), x.numel());
}

TEST(FaultModel, FlippingTwiceRestoresAndInputIsUntouched) {
  at::Tensor x = at::randn({2, 50});
  at::Tensor copy = x.clone();
  for (int bit : {0, 7, 22, 23, 30}) {
    FaultSpec s = flip({bit}, 0.3);
    s.seed = 11;
    at::Tensor once = apply_fault(x, s, true).output;
    EXPECT_FALSE(bitwise_equal(once, x)) << bit;
    EXPECT_TRUE(bitwise_equal(apply_fault(once, s, true).output, x)) << bit;
  }
  EXPECT_TRUE(bitwise_equal(x, copy));
}

TEST(FaultModel, StuckAtIsIdempotent) {
  at::Tensor x = at::randn({2, 64});
  for (auto kind : {FaultKind::kStuckAt0, FaultKind::kStuckAt1}) {
    FaultSpec s = flip({30, 3}, 0.5);
    s.kind = kind;
    at::Tensor once = apply_fault(x, s, true).output;
    EXPECT_TRUE(bitwise_equal(apply_fault(once, s, true).output, once));
  }
  FaultSpec s0 = flip({31});
  s0.kind = FaultKind::kStuckAt0;
  EXPECT_TRUE(bitwise_equal(apply_fault(x, s0, true).output, x.abs()));
}

// Known bit patterns, worked out by hand: 1.0f is 0x3F800000 (bits 23..29 set).
TEST(FaultModel, StuckAtForcesKnownBits) {
  at::Tensor x = at::ones({1, 2});
  auto bits_of = [](const at::Tensor& t) { return t.view(at::kInt)[0][0].item<int32_t>(); };
  FaultSpec s = flip({0, 22});
  s.kind = FaultKind::kStuckAt1;  // two clear bits set: 0x3F800000 | 0x00400001
  EXPECT_EQ(bits_of(apply_fault(x, s, true).output), 0x3FC00001);
  s.bits = {23, 29};  // already set: unchanged
  EXPECT_EQ(bits_of(apply_fault(x, s, true).output), 0x3F800000);
  s.kind = FaultKind::kStuckAt0;  // cleared: 0x3F800000 & ~0x20800000
  EXPECT_EQ(bits_of(apply_fault(x, s, true).output), 0x1F000000);
  s.bits = {0, 31};  // already clear: unchanged
  EXPECT_EQ(bits_of(apply_fault(x, s, true).output), 0x3F800000);
}

// Values the format cannot hold exactly are rounded to it first, then corrupted (expected
// values from NumPy's float16 and by hand for bfloat16 and int8).
TEST(FaultModel, ReducedPrecisionRoundsClampsAndUsesTheZeroPoint) {
  at::Tensor x = at::tensor({0.1f}).reshape({1, 1});
  FaultSpec s = flip({0});
  s.format = NumberFormat::kFp16;  // 0.1 -> 0x2E66; bit 0 -> 0x2E67 = 0.10003662109375
  EXPECT_EQ(apply_fault(x, s, true).output.item<float>(), 0.10003662109375f);
  s.format = NumberFormat::kBf16;  // 0x3DCCCCCD rounds up to 0x3DCD; bit 0 -> 0x3DCC
  EXPECT_EQ(apply_fault(x, s, true).output.item<float>(), 0.099609375f);
  s.format = NumberFormat::kInt8;
  s.scale = 0.1;
  s.zero_point = 3;
  s.bits = {1};  // 1.04 -> q = round(10.4) + 3 = 13; bit 1 -> 15 -> (15 - 3) x 0.1
  at::Tensor y = at::tensor({1.04f, 20.0f, -20.0f}).reshape({1, 3});
  at::Tensor out = apply_fault(y, s, true).output;
  EXPECT_FLOAT_EQ(out[0][0].item<float>(), 1.2f);
  s.bits = {0};  // 20 -> 203 clamps to 127, bit 0 -> 126; -20 -> -197 clamps to -128 -> -127
  out = apply_fault(y, s, true).output;
  EXPECT_FLOAT_EQ(out[0][1].item<float>(), 12.3f);
  EXPECT_FLOAT_EQ(out[0][2].item<float>(), -13.0f);
}

// random_bit: one bit per element, spread over all 32 (each bit's count near n / 32).
TEST(FaultModel, RandomBitFlipsOneBitSpreadOverTheWord) {
  const int64_t n = 32000;
  at::Tensor x = at::ones({1, n});
  FaultSpec s = flip({});
  s.random_bit = true;
  s.seed = 3;
  at::Tensor diff = apply_fault(x, s, true).output.view(at::kInt).bitwise_xor(x.view(at::kInt));
  std::vector<int64_t> per_bit(32, 0);
  auto d = diff.contiguous();
  const int32_t* p = d.data_ptr<int32_t>();
  for (int64_t i = 0; i < n; ++i) {
    auto u = static_cast<uint32_t>(p[i]);
    ASSERT_EQ(__builtin_popcount(u), 1) << "element " << i;
    ++per_bit[static_cast<size_t>(__builtin_ctz(u))];
  }
  const double expected = n / 32.0, sd = std::sqrt(n * (1.0 / 32) * (31.0 / 32));
  for (int b = 0; b < 32; ++b) EXPECT_NEAR(per_bit[b], expected, 5 * sd) << "bit " << b;
}

TEST(FaultModel, CorruptedFractionWithinBinomialBounds) {
  const int64_t n = 200000;
  at::Tensor x = at::ones({1, n});
  for (double p : {0.001, 0.05, 0.5}) {
    FaultSpec s = flip({30}, p);
    s.seed = 99;
    int64_t hits = apply_fault(x, s, true).positions.numel();
    double sd = std::sqrt(n * p * (1 - p));
    EXPECT_NEAR(static_cast<double>(hits), n * p, 5 * sd) << "p=" << p;
  }
}

TEST(FaultModel, SameSeedSameFaultsWhateverTheBatchSize) {
  at::Tensor x = at::randn({8, 3, 5, 5});
  FaultSpec s = flip({}, 0.1);
  s.random_bit = true;
  s.per_sample = true;
  s.seed = 5;
  s.fault_id = 17;
  at::Tensor full = apply_fault(x, s, true).output;
  // Batch of 1 holding sample 0 gets sample 0's faults.
  at::Tensor one = apply_fault(x.slice(0, 0, 1), s, true).output;
  EXPECT_TRUE(bitwise_equal(one, full.slice(0, 0, 1)));
  // Per-sample faults differ between samples; shared ones do not.
  EXPECT_FALSE(bitwise_equal(full[0] - x[0] != 0, full[1] - x[1] != 0));
  s.per_sample = false;
  at::Tensor shared = apply_fault(x, s, true).output;
  EXPECT_TRUE(bitwise_equal(shared[2] != x[2], shared[5] != x[5]));
}

TEST(FaultModel, CountAndCoordinatesSelectExactly) {
  at::Tensor x = at::randn({2, 100});
  FaultSpec s = flip({30});
  s.selection = Selection::kCount;
  s.count = 7;
  at::Tensor picked = apply_fault(x, s, true).positions;
  EXPECT_EQ(picked.numel(), 14);
  EXPECT_EQ(std::get<0>(at::_unique(picked)).numel(), 14);  // 7 distinct elements a sample
  s.selection = Selection::kCoordinates;
  s.coordinates = {3, 99};
  auto r = apply_fault(x, s, true);
  at::Tensor sorted = std::get<0>(r.positions.sort());
  EXPECT_TRUE(at::equal(sorted, at::tensor(std::vector<int64_t>{3, 99, 103, 199})));
  s.coordinates = {100};
  EXPECT_THROW(apply_fault(x, s, true), ConfigError);
}

TEST(FaultModel, ReducedPrecisionFormatsCorruptTheStoredBits) {
  at::Tensor x = at::tensor({1.0f, -2.5f, 0.375f}).reshape({1, 3});
  FaultSpec s = flip({15});
  s.format = NumberFormat::kFp16;
  EXPECT_TRUE(bitwise_equal(apply_fault(x, s, true).output, -x));  // fp16 sign bit
  s.format = NumberFormat::kBf16;
  EXPECT_TRUE(bitwise_equal(apply_fault(x, s, true).output, -x));
  // fp16 exponent MSB (bit 14) of 1.0 (0x3C00) gives 0x7C00 = +inf.
  s.format = NumberFormat::kFp16;
  s.bits = {14};
  EXPECT_TRUE(std::isinf(apply_fault(x, s, true).output[0][0].item<float>()));
  // int8 with scale 0.5: 1.0 -> q=2 (0b10); flipping bit 7 gives -126 -> -63.0.
  s.format = NumberFormat::kInt8;
  s.scale = 0.5;
  s.bits = {7};
  EXPECT_FLOAT_EQ(apply_fault(x, s, true).output[0][0].item<float>(), -63.0f);
}

TEST(FaultModel, AdjacentBitsAndValues) {
  at::Tensor x = at::zeros({1, 4});
  FaultSpec s = flip({0});
  s.adjacent = 3;  // bits 0..2 of +0.0 -> the denormal with bits 0b111
  at::Tensor y = apply_fault(x, s, true).output;
  EXPECT_EQ(y.view(at::kInt)[0][0].item<int32_t>(), 7);
  s.kind = FaultKind::kSetValue;
  s.value = 4.5;
  EXPECT_TRUE(at::equal(apply_fault(x, s, true).output, at::full({1, 4}, 4.5f)));
  s.kind = FaultKind::kRandomValue;
  s.low = 10;
  s.high = 11;
  at::Tensor r = apply_fault(x, s, true).output;
  EXPECT_TRUE((r >= 10).all().item<bool>() && (r < 11).all().item<bool>());
}

TEST(FaultModel, ValidationNamesTheProblem) {
  FaultSpec s = flip({64});
  try {
    validate(s, "entry 5");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(
        std::string(e.what()).find("entry 5: bit 64 is outside 0..31 (fp32 values have 32 bits"),
        std::string::npos)
        << e.what();
  }
  s.bits = {3};
  s.probability = 1.5;
  EXPECT_THROW(validate(s, "x"), ConfigError);
}

}  // namespace
}  // namespace fg
