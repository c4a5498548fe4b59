#include <fmt/format.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>

#include "faultgraph/core/error.h"
#include "faultgraph/core/sizes.h"
#include "faultgraph/exec/executor.h"
#include "faultgraph/ops/infer.h"
#include "faultgraph/ops/op.h"

namespace fg {
namespace {

TEST(OpTable, EveryKindHasItsOwnConsistentEntry) {
  for (size_t i = 0; i < kOpKindCount; ++i) {
    auto kind = static_cast<OpKind>(i);
    const OpDef& d = op_def(kind);
    EXPECT_EQ(d.kind, kind);
    EXPECT_EQ(d.name, op_name(kind));
    EXPECT_EQ(op_from_name(d.name), kind);
    EXPECT_LE(d.min_inputs, d.max_inputs) << d.name;
    EXPECT_LE(d.min_outputs, d.max_outputs) << d.name;
    EXPECT_NE(d.infer, nullptr) << d.name;
    EXPECT_NE(d.prepare, nullptr) << d.name;
  }
  EXPECT_FALSE(op_from_name("NotAnOp").has_value());
}

}  // namespace
}  // namespace fg

namespace fg {
namespace {
// Reshape's 0 copies an input dim; a copied dynamic batch is not a second -1 and cancels
// against the same input dim, so [N, 4, 3, 5] -> [0, 4, -1] is [N, 4, 15].
TEST(ReshapeInference, CopiedUnknownDimIsNotASecondMinusOne) {
  Graph g;
  g.opset = 13;
  ValueId x = g.add_input("x", DType::kFloat32, {kUnknownDim, 4, 3, 5});
  ValueId shape = g.add_initializer("shape", at::tensor(std::vector<int64_t>{0, 4, -1}, at::kLong));
  NodeId n = g.add_node("r", OpKind::kReshape, {x, shape}, {"y"});
  g.add_output(g.node(n).outputs[0]);
  auto info = infer_types(g);
  EXPECT_EQ(info[g.node(n).outputs[0]].shape, (Shape{kUnknownDim, 4, 15}));
  auto y = Executor(g).run({at::randn({3, 4, 3, 5})});
  EXPECT_EQ(y.at(0).sizes(), (at::IntArrayRef{3, 4, 15}));
}
}  // namespace
}  // namespace fg

namespace fg {
namespace {
at::Tensor erf_node(const at::Tensor& x) {
  Graph g;
  g.opset = 13;
  ValueId in = g.add_input("x", DType::kFloat32, {x.size(0)});
  NodeId n = g.add_node("erf", OpKind::kErf, {in}, {"y"});
  g.add_output(g.node(n).outputs[0]);
  return Executor(g).run({x}).at(0);
}

// faultgraph's own float erf (src/ops/erf.cpp) against double erf rounded to float: at most
// 1 ulp over every 61st float in [0, 4.5] and a third of their negatives (every float beyond 3.92
// rounds to 1), special values as C's erff, and an element's bits do not depend on its position.
TEST(ErfKernel, FaithfulOverTheWholeRangeAndPositionIndependent) {
  std::vector<float> xs;
  for (uint32_t bits = 0; bits <= std::bit_cast<uint32_t>(4.5F); bits += 61)
    xs.push_back(std::bit_cast<float>(bits));
  size_t half = xs.size();
  for (size_t i = 0; i < half; i += 3) xs.push_back(-xs[i]);
  at::Tensor x = at::from_blob(xs.data(), {static_cast<int64_t>(xs.size())}, at::kFloat).clone();
  at::Tensor y = erf_node(x);
  const float* py = y.data_ptr<float>();
  int64_t worst = 0, exact = 0;
  float worst_at = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    float want = static_cast<float>(std::erf(static_cast<double>(xs[i])));
    int64_t ulp =
        std::abs(int64_t{std::bit_cast<int32_t>(py[i])} - int64_t{std::bit_cast<int32_t>(want)});
    exact += ulp == 0;
    if (ulp > worst) worst = ulp, worst_at = xs[i];
  }
  EXPECT_LE(worst, 1) << "at x = " << worst_at;
  EXPECT_GT(static_cast<double>(exact) / static_cast<double>(xs.size()), 0.9);

  float inf = std::numeric_limits<float>::infinity();
  at::Tensor s = erf_node(at::tensor({std::nanf(""), inf, -inf, -0.0F, 0.0F, 1e-40F, -1e-40F}));
  EXPECT_TRUE(std::isnan(s[0].item<float>()));
  EXPECT_EQ(s[1].item<float>(), 1.0F);
  EXPECT_EQ(s[2].item<float>(), -1.0F);
  EXPECT_TRUE(std::signbit(s[3].item<float>()) && s[3].item<float>() == 0.0F);
  EXPECT_EQ(s[4].item<float>(), 0.0F);
  EXPECT_GT(s[5].item<float>(), 0.0F);
  EXPECT_LT(s[6].item<float>(), 0.0F);

  // The same values at another offset and in a short tensor (the padded tail block).
  at::Tensor shifted = erf_node(at::cat({at::zeros({5}), x.slice(0, 0, 1000)}));
  EXPECT_TRUE(at::equal(shifted.slice(0, 5), y.slice(0, 0, 1000)));
  EXPECT_TRUE(at::equal(erf_node(x.slice(0, 990, 1003).clone()), y.slice(0, 990, 1003)));
}
}  // namespace
}  // namespace fg

namespace fg {
namespace {
// faultgraph's own float 2-d AveragePool (src/ops/average_pool.cpp) gives ATen's avg_pool2d
// bits, padding counted or not, strides, ceil mode, tiny sums (a quotient that rounds to -0
// comes out +0 as in ATen), infinities and NaN, at widths past one 64-wide block.
TEST(AveragePoolKernel, SameBitsAsATen) {
  struct Geometry {
    int64_t k, s, pad;
    bool ceil, cip;
  };
  for (Geometry c : {Geometry{3, 1, 1, false, true}, Geometry{3, 1, 1, false, false},
                     Geometry{3, 2, 1, true, true}, Geometry{3, 2, 1, true, false},
                     Geometry{2, 2, 0, false, true}, Geometry{5, 3, 2, true, false},
                     Geometry{4, 1, 2, false, true}}) {
    at::Tensor x = at::randn({2, 3, 11, 150});
    x.index_put_({0, 0, 3, 4}, std::numeric_limits<float>::infinity());
    x.index_put_({1, 2, 7, 100}, std::nanf(""));
    x.index_put_({0, 1}, x.index({0, 1}) * 1e-44);  // denormal sums
    Graph g;
    ValueId in = g.add_input("x", DType::kFloat32, {2, 3, 11, 150});
    Attrs a;
    a.set("kernel_shape", std::vector<int64_t>{c.k, c.k});
    a.set("strides", std::vector<int64_t>{c.s, c.s});
    a.set("pads", std::vector<int64_t>{c.pad, c.pad, c.pad, c.pad});
    a.set("ceil_mode", int64_t{c.ceil});
    a.set("count_include_pad", int64_t{c.cip});
    NodeId n = g.add_node("pool", OpKind::kAveragePool, {in}, {"y"}, a);
    g.add_output(g.node(n).outputs[0]);
    at::Tensor got = Executor(g).run({x}).at(0);
    at::Tensor want = at::avg_pool2d(x, {c.k, c.k}, {c.s, c.s}, {c.pad, c.pad}, c.ceil, c.cip);
    ASSERT_EQ(got.sizes(), want.sizes()) << c.k << " " << c.s << " " << c.pad;
    EXPECT_TRUE(bitwise_equal(got, want))
        << c.k << " " << c.s << " " << c.pad << " " << c.ceil << " " << c.cip;
  }
}
}  // namespace
}  // namespace fg

namespace fg {
namespace {
// The same over 300 random small geometries (kernel 1-5 per dim, stride 1-3, pads up to half
// the kernel as ATen takes them, ceil mode, padding counted or not, inputs from 1 x 1).
TEST(AveragePoolKernel, SameBitsAsATenAtRandomGeometries) {
  std::mt19937 rng(7);
  auto pick = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int t = 0; t < 300; ++t) {
    const int64_t kh = pick(1, 5), kw = pick(1, 5), sh = pick(1, 3), sw = pick(1, 3);
    const int64_t ph = pick(0, static_cast<int>(kh / 2)), pw = pick(0, static_cast<int>(kw / 2));
    const bool ceil = pick(0, 1) == 1, cip = pick(0, 1) == 1;
    const int64_t h = pick(static_cast<int>(std::max<int64_t>(1, kh - 2 * ph)), 20);
    const int64_t w = pick(static_cast<int>(std::max<int64_t>(1, kw - 2 * pw)), 40);
    Graph g;
    ValueId in = g.add_input("x", DType::kFloat32, {1, 3, h, w});
    Attrs a;
    a.set("kernel_shape", std::vector<int64_t>{kh, kw});
    a.set("strides", std::vector<int64_t>{sh, sw});
    a.set("pads", std::vector<int64_t>{ph, pw, ph, pw});
    a.set("ceil_mode", int64_t{ceil});
    a.set("count_include_pad", int64_t{cip});
    NodeId n = g.add_node("pool", OpKind::kAveragePool, {in}, {"y"}, a);
    g.add_output(g.node(n).outputs[0]);
    at::Tensor x = at::randn({1, 3, h, w});
    at::Tensor got = Executor(g).run({x}).at(0);
    at::Tensor want = at::avg_pool2d(x, {kh, kw}, {sh, sw}, {ph, pw}, ceil, cip);
    ASSERT_EQ(got.sizes(), want.sizes()) << "case " << t;
    ASSERT_TRUE(bitwise_equal(got, want))
        << "case " << t << ": kernel " << kh << "x" << kw << " stride " << sh << "x" << sw
        << " pads " << ph << "," << pw << " ceil " << ceil << " cip " << cip << " input " << h
        << "x" << w;
  }
}
}  // namespace
}  // namespace fg

namespace fg {
namespace {
// Pads far wider than the input (a hostile model) keep ATen's pool, which reads only the
// real elements: no padded copy of 2^21 x 2^21 floats.
TEST(AveragePoolKernel, HugePadsAreNotCopied) {
  Graph g;
  ValueId in = g.add_input("x", DType::kFloat32, {1, 2, 4, 4});
  const int64_t pad = int64_t{1} << 20;
  Attrs a;
  a.set("kernel_shape", std::vector<int64_t>{2 * pad, 2 * pad});
  a.set("pads", std::vector<int64_t>{pad, pad, pad, pad});
  NodeId n = g.add_node("pool", OpKind::kAveragePool, {in}, {"y"}, a);
  g.add_output(g.node(n).outputs[0]);
  at::Tensor x = at::randn({1, 2, 4, 4});
  at::Tensor got = Executor(g).run({x}).at(0);
  at::Tensor want = at::avg_pool2d(x, {2 * pad, 2 * pad}, {1, 1}, {pad, pad}, false, false);
  EXPECT_TRUE(bitwise_equal(got, want));
}
}  // namespace
}  // namespace fg

namespace fg {
namespace {
at::Tensor run_max_pool(const at::Tensor& x, std::vector<int64_t> k, std::vector<int64_t> s,
                        std::vector<int64_t> pads, std::vector<int64_t> d, bool ceil) {
  Graph g;
  ValueId in = g.add_input("x", DType::kFloat32, x.sizes().vec());
  Attrs a;
  a.set("kernel_shape", std::move(k));
  a.set("strides", std::move(s));
  a.set("pads", std::move(pads));
  a.set("dilations", std::move(d));
  a.set("ceil_mode", int64_t{ceil});
  NodeId n = g.add_node("pool", OpKind::kMaxPool, {in}, {"y"}, a);
  g.add_output(g.node(n).outputs[0]);
  return Executor(g).run({x}).at(0);
}

float nan_with_payload(uint32_t payload) {
  const uint32_t bits = 0x7fc00000U | (payload & 0x3fffffU);
  float f = 0;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// faultgraph's own float 2-d MaxPool (src/ops/max_pool.cpp) gives ATen's max_pool2d bits:
// strides 1 to 3 (1 and 2 vectorised), padding, dilation, ceil mode, widths past one
// 16-wide vector, and ATen's rule where values tie or are not numbers: the last NaN of a
// window (payloads differ: a bit flip makes any of them), the first of +0 and -0, -inf.
TEST(MaxPoolKernel, SameBitsAsATen) {
  struct Geometry {
    int64_t k, s, pad, d;
    bool ceil;
  };
  for (Geometry c :
       {Geometry{3, 2, 1, 1, false}, Geometry{3, 2, 0, 1, false}, Geometry{3, 1, 1, 1, false},
        Geometry{2, 2, 0, 1, true}, Geometry{3, 2, 1, 2, true}, Geometry{3, 3, 1, 1, true},
        Geometry{5, 1, 2, 1, false}}) {
    at::Tensor x = at::randn({2, 3, 11, 150});
    x.index_put_({0, 0, 3, 4}, std::numeric_limits<float>::infinity());
    for (int64_t j = 10; j < 20; ++j) x.index_put_({1, 2, 7, j}, nan_with_payload(j));
    x.index_put_({0, 1}, at::zeros({11, 150}));
    for (int64_t j = 1; j < 150; j += 2) x.index_put_({0, 1, 5, j}, -0.0F);
    x.index_put_({1, 0}, at::full({11, 150}, -std::numeric_limits<float>::infinity()));
    const std::vector<int64_t> k{c.k, c.k}, s{c.s, c.s}, d{c.d, c.d};
    at::Tensor got = run_max_pool(x, k, s, {c.pad, c.pad, c.pad, c.pad}, d, c.ceil);
    at::Tensor want = at::max_pool2d(x, k, s, {c.pad, c.pad}, d, c.ceil);
    ASSERT_EQ(got.sizes(), want.sizes()) << c.k << " " << c.s << " " << c.pad << " " << c.d;
    EXPECT_TRUE(bitwise_equal(got, want))
        << c.k << " " << c.s << " " << c.pad << " " << c.d << " " << c.ceil;
  }
}

// The same over 300 random small geometries (kernel 1-5 per dim, stride 1-3, dilation 1-2,
// pads up to half the kernel as ATen takes them, ceil mode, inputs from 1 x 1), values
// from a few levels so that windows hold ties (+0 with -0 among them), with NaNs.
TEST(MaxPoolKernel, SameBitsAsATenAtRandomGeometries) {
  std::mt19937 rng(11);
  auto pick = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int t = 0; t < 300; ++t) {
    const int64_t kh = pick(1, 5), kw = pick(1, 5), sh = pick(1, 3), sw = pick(1, 3);
    const int64_t dh = pick(1, 2), dw = pick(1, 2);
    const int64_t ph = pick(0, static_cast<int>(kh / 2)), pw = pick(0, static_cast<int>(kw / 2));
    const bool ceil = pick(0, 1) == 1;
    const int64_t h = pick(static_cast<int>(std::max<int64_t>(1, (kh - 1) * dh + 1 - 2 * ph)), 20);
    const int64_t w = pick(static_cast<int>(std::max<int64_t>(1, (kw - 1) * dw + 1 - 2 * pw)), 40);
    at::Tensor x = at::randint(-2, 3, {1, 3, h, w}).to(at::kFloat) * 0.5;
    x.index_put_({(x == 0) & (at::rand({1, 3, h, w}) < 0.5)}, -0.0F);  // +0 and -0 tie
    x.index_put_({0, 1, 0, 0}, nan_with_payload(static_cast<uint32_t>(t)));
    x.index_put_({0, 2, h - 1, w - 1}, nan_with_payload(static_cast<uint32_t>(t + 1)));
    at::Tensor want = at::max_pool2d(x, {kh, kw}, {sh, sw}, {ph, pw}, {dh, dw}, ceil);
    at::Tensor got = run_max_pool(x, {kh, kw}, {sh, sw}, {ph, pw, ph, pw}, {dh, dw}, ceil);
    const std::string what = fmt::format(
        "case {}: kernel {}x{} stride {}x{} dilation {}x{} pads "
        "{},{} ceil {} input {}x{}",
        t, kh, kw, sh, sw, dh, dw, ph, pw, ceil, h, w);
    ASSERT_EQ(got.sizes(), want.sizes()) << what;
    ASSERT_TRUE(bitwise_equal(got, want)) << what;
  }
}

// Pads far wider than the input (a hostile model) keep ATen's pool: no padded copy.
TEST(MaxPoolKernel, HugePadsAreNotCopied) {
  const int64_t pad = int64_t{1} << 20;
  at::Tensor x = at::randn({1, 2, 4, 4});
  at::Tensor got = run_max_pool(x, {2 * pad, 2 * pad}, {1, 1}, {pad, pad, pad, pad}, {1, 1}, false);
  at::Tensor want = at::max_pool2d(x, {2 * pad, 2 * pad}, {1, 1}, {pad, pad}, {1, 1}, false);
  EXPECT_TRUE(bitwise_equal(got, want));
}
}  // namespace
}  // namespace fg

namespace fg {
namespace {
// The Linear form of Gemm on float inference (faultgraph's own dot products): each row of a
// batch gets the bits it gets alone, at any width (tails of 16), with or without bias, and
// the values of a double-precision reference within float rounding.
TEST(GemmKernel, RowsGetTheirOwnBitsAtAnyBatchSize) {
  for (int64_t k : {1, 15, 16, 17, 1280}) {
    Graph g;
    ValueId in = g.add_input("x", DType::kFloat32, {kUnknownDim, k});
    ValueId w = g.add_initializer("w", at::randn({37, k}));
    ValueId b = g.add_initializer("b", at::randn({37}));
    Attrs a;
    a.set("transB", int64_t{1});
    NodeId n = g.add_node("fc", OpKind::kGemm, {in, w, b}, {"y"}, a);
    g.add_output(g.node(n).outputs[0]);
    at::Tensor wt = *g.value(w).data, bt = *g.value(b).data;
    Executor exec(g);
    at::Tensor x = at::randn({5, k});
    at::Tensor all = exec.run({x}).at(0);
    for (int64_t i = 0; i < 5; ++i) {
      at::Tensor one = exec.run({x.slice(0, i, i + 1).clone()}).at(0);
      EXPECT_TRUE(bitwise_equal(one, all.slice(0, i, i + 1).contiguous())) << "k " << k;
    }
    // Float rounding error of a sum is bounded by its terms' magnitudes: (k / 16 + 5)
    // roundings of at most 2^-24 each, relative to sum |x_i w_i| + |b| (at most 1e-5 here).
    at::Tensor want = at::linear(x.to(at::kDouble), wt.to(at::kDouble), bt.to(at::kDouble));
    at::Tensor scale =
        at::linear(x.to(at::kDouble).abs(), wt.to(at::kDouble).abs(), bt.to(at::kDouble).abs());
    const double bound = (static_cast<double>(k) / 16 + 5) * std::ldexp(1.0, -24);
    EXPECT_TRUE((all.to(at::kDouble) - want).abs().le(scale * bound).all().item<bool>())
        << "k " << k;
  }
}
}  // namespace
}  // namespace fg

namespace fg {
namespace {
// BatchNormalization at inference (faultgraph's own kernel): x * alpha + beta as fused
// multiply-adds, alpha = scale / sqrt(var + eps), beta = B - mean * alpha fused too (what
// ATen's vectorised kernel computes), on odd plane sizes; within an ulp of ATen's result.
TEST(BatchNormKernel, FusedMultiplyAddsPerChannel) {
  const int64_t c = 19;
  Graph g;
  ValueId in = g.add_input("x", DType::kFloat32, {2, c, 7, 9});
  std::vector<ValueId> ins{in};
  at::Tensor scale = at::randn({c}), bias = at::randn({c}), mean = at::randn({c}),
             var = at::rand({c}) + 0.1;
  for (auto [name, t] : {std::pair{"scale", scale}, {"bias", bias}, {"mean", mean}, {"var", var}})
    ins.push_back(g.add_initializer(name, t));
  NodeId n = g.add_node("bn", OpKind::kBatchNormalization, ins, {"y"});
  g.add_output(g.node(n).outputs[0]);
  at::Tensor x = at::randn({2, c, 7, 9});
  at::Tensor y = Executor(g).run({x}).at(0).contiguous();
  const float* px = x.data_ptr<float>();
  const float* py = y.data_ptr<float>();
  const int64_t plane = 7 * 9;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t ch = i / plane % c;
    const float invstd = 1.0F / std::sqrt(var[ch].item<float>() + 1e-5F);
    const float alpha = invstd * scale[ch].item<float>();
    const float beta = std::fma(-mean[ch].item<float>(), alpha, bias[ch].item<float>());
    ASSERT_EQ(std::bit_cast<uint32_t>(py[i]), std::bit_cast<uint32_t>(std::fma(px[i], alpha, beta)))
        << "element " << i;
  }
  at::Tensor aten = at::batch_norm(x, scale, bias, mean, var, false, 0.1, 1e-5, false);
  EXPECT_TRUE(at::allclose(y, aten, 1e-6, 1e-6));
  // After a Relu whose output nothing else reads, the plain run lets the kernel overwrite
  // its input (the in-place loop): the same bits as the relu's output normalized apart.
  Graph g2;
  std::vector<ValueId> ins2{g2.add_input("x", DType::kFloat32, {2, c, 7, 9})};
  NodeId r = g2.add_node("relu", OpKind::kRelu, {ins2[0]}, {"r"});
  ins2[0] = g2.node(r).outputs[0];
  for (auto [name, t] : {std::pair{"scale", scale}, {"bias", bias}, {"mean", mean}, {"var", var}})
    ins2.push_back(g2.add_initializer(name, t));
  g2.add_output(g2.node(g2.add_node("bn", OpKind::kBatchNormalization, ins2, {"y"})).outputs[0]);
  ExecOptions in_place;
  in_place.in_place = true;
  const at::Tensor y2 = Executor(g2, in_place).run({x}).at(0);
  const at::Tensor apart = Executor(g).run({at::relu(x)}).at(0);
  EXPECT_TRUE(bitwise_equal(y2, apart));
}

// The kernel keeps alpha and beta between calls; parameters changed in place (a new version)
// or replaced (a weight fault's corrupted copy, in a rerun) are read again, in whole runs and
// in windows alike: each result is bit for bit what a fresh executor gives with those values.
TEST(BatchNormKernel, ChangedParametersAreReadAgain) {
  const int64_t c = 6;
  auto make = [c](Graph& g, const std::vector<at::Tensor>& params) {
    std::vector<ValueId> ins{g.add_input("x", DType::kFloat32, {1, c, 5, 5})};
    for (size_t i = 0; i < 4; ++i)
      ins.push_back(g.add_initializer(fmt::format("p{}", i), params[i].clone()));
    NodeId n = g.add_node("bn", OpKind::kBatchNormalization, ins, {"y"});
    g.add_output(g.node(n).outputs[0]);
    return ins;
  };
  std::vector<at::Tensor> params;
  for (int i = 0; i < 4; ++i) params.push_back(at::rand({c}) + 0.5);
  auto fresh = [&](const std::vector<at::Tensor>& p, const at::Tensor& x) {
    Graph g;
    make(g, p);
    return Executor(g).run({x}).at(0);
  };
  Graph g;
  const std::vector<ValueId> ins = make(g, params);
  const at::Tensor x = at::randn({1, c, 5, 5});
  Executor exec(g);
  const at::Tensor before = exec.run({x}).at(0);
  EXPECT_TRUE(bitwise_equal(before, fresh(params, x)));
  g.value(ins[4]).data->mul_(4.0);  // var, in place
  params[3].mul_(4.0);
  const at::Tensor after = exec.run({x}).at(0);
  EXPECT_FALSE(bitwise_equal(after, before));
  EXPECT_TRUE(bitwise_equal(after, fresh(params, x)));
  GoldenCache golden = exec.run_cached({x});
  for (Recompute mode : {Recompute::kDownstream, Recompute::kCone}) {
    // A fault in the scale: a corrupted copy of it, the whole output recomputed.
    ValueFault f;
    f.value = ins[1];
    f.elements = {2};
    f.spec.bits = {23};
    RerunResult r = exec.rerun(golden, f, mode);
    std::vector<at::Tensor> faulty = params;
    faulty[0] = params[0].clone();
    faulty[0][2] = r.faulty_values.at(0);
    EXPECT_TRUE(bitwise_equal(r.outputs.at(0), fresh(faulty, x)));
    EXPECT_FALSE(bitwise_equal(r.outputs.at(0), after));
    // Then a fault in x (a window in cone mode): the layer's own parameters again.
    ValueFault fx;
    fx.value = ins[0];
    fx.elements = {7};
    fx.spec.bits = {29};
    RerunResult rx = exec.rerun(golden, fx, mode);
    at::Tensor xf = x.clone();
    xf.view(-1)[7] = rx.faulty_values.at(0);
    EXPECT_TRUE(bitwise_equal(rx.outputs.at(0), fresh(params, xf)));
  }
}
}  // namespace
}  // namespace fg

namespace fg {
namespace {
// Ops whose output size a model's values choose refuse sizes beyond this machine's memory
// with an error naming the node (a hostile ONNX used to get ATen's "can't allocate"): at
// load when the values are constants, at run time otherwise.
TEST(HostileSizes, RangeExpandConstantOfShapeAndPadNameTheNode) {
  auto expect_error = [](const std::function<void()>& f, const std::string& node) {
    try {
      f();
      ADD_FAILURE() << node << ": no error";
    } catch (const ShapeError& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find(node), std::string::npos) << msg;
      EXPECT_NE(msg.find("memory"), std::string::npos) << msg;
    }
  };
  {  // Range(0, 1e18, 1) from constants: at load (shape inference).
    Graph g;
    g.opset = 13;
    ValueId a = g.add_initializer("a", at::tensor(0.0F));
    ValueId b = g.add_initializer("b", at::tensor(1e18F));
    ValueId c = g.add_initializer("c", at::tensor(1.0F));
    NodeId n = g.add_node("huge_range", OpKind::kRange, {a, b, c}, {"y"});
    g.add_output(g.node(n).outputs[0]);
    expect_error([&] { infer_types(g); }, "huge_range");
  }
  {  // ConstantOfShape and Expand of a shape given at run time.
    Graph g;
    g.opset = 13;
    ValueId s = g.add_input("s", DType::kInt64, {3});
    ValueId x = g.add_input("x", DType::kFloat32, {1});
    NodeId c = g.add_node("fill", OpKind::kConstantOfShape, {s}, {"f"});
    NodeId e = g.add_node("grow", OpKind::kExpand, {x, s}, {"e"});
    g.add_output(g.node(c).outputs[0]);
    g.add_output(g.node(e).outputs[0]);
    Executor ex(g);
    auto small = ex.run({at::tensor(std::vector<int64_t>{2, 3, 4}), at::ones({1})});
    EXPECT_EQ(small.at(0).sizes(), (at::IntArrayRef{2, 3, 4}));
    EXPECT_EQ(small.at(1).sizes(), (at::IntArrayRef{2, 3, 4}));
    const int64_t big = int64_t{1} << 30;
    expect_error(
        [&] {
          ex.run({at::tensor(std::vector<int64_t>{big, big, 4}), at::ones({1})});
        },
        "fill");
  }
  {  // Expand alone, and Pad, on an input of unknown batch (checked at run time).
    Graph g;
    g.opset = 13;
    ValueId x = g.add_input("x", DType::kFloat32, {kUnknownDim, 4});
    ValueId s = g.add_initializer("s", at::tensor(std::vector<int64_t>{int64_t{1} << 40, 1}));
    NodeId e = g.add_node("grow", OpKind::kExpand, {x, s}, {"e"});
    g.add_output(g.node(e).outputs[0]);
    expect_error([&] { Executor(g).run({at::ones({1, 4})}); }, "grow");
  }
  {
    Graph g;
    g.opset = 10;  // pads as an attribute
    ValueId x = g.add_input("x", DType::kFloat32, {kUnknownDim, 4});
    Attrs attrs;
    attrs.set("pads", std::vector<int64_t>{0, 0, int64_t{1} << 40, 0});
    NodeId p = g.add_node("wide", OpKind::kPad, {x}, {"y"}, attrs);
    g.add_output(g.node(p).outputs[0]);
    expect_error([&] { Executor(g).run({at::ones({1, 4})}); }, "wide");
  }
}

// FLOP counts of claimed sizes saturate instead of overflowing: a pool whose kernel (2^31 x
// 2^31, reachable through pads) times its outputs passes 64 bits.
TEST(HostileSizes, FlopCountsSaturate) {
  Graph g;
  g.opset = 13;
  ValueId x = g.add_input("x", DType::kFloat32, {1, 1, 2, 2});
  Attrs a;
  const int64_t big = int64_t{1} << 31;
  a.set("kernel_shape", std::vector<int64_t>{big, big});
  a.set("pads", std::vector<int64_t>{big, big, big, big});
  NodeId n = g.add_node("pool", OpKind::kMaxPool, {x}, {"y"}, a);
  std::vector<TensorInfo> ins(1), outs(1);
  ins[0].dtype = outs[0].dtype = DType::kFloat32;
  ins[0].rank_known = outs[0].rank_known = true;
  ins[0].shape = {1, 1, 2, 2};
  outs[0].shape = {1, 1, 3, 3};
  OpContext ctx{g.node(n), ins, g.opset};
  EXPECT_EQ(op_def(OpKind::kMaxPool).flops(ctx, outs), std::numeric_limits<int64_t>::max());
}

// Pad's constant_value computed by the graph (not an initializer or a Constant) was taken
// as 0 without a word; it is refused, naming the node and the input.
TEST(HostileSizes, PadValueMustBeAConstant) {
  Graph g;
  ValueId x = g.add_input("x", DType::kFloat32, {1, 2, 3, 3});
  ValueId v = g.add_input("v", DType::kFloat32, {});
  ValueId pads = g.add_initializer("pads", at::tensor({0, 0, 1, 1, 0, 0, 1, 1}, at::kLong));
  NodeId n = g.add_node("pad", OpKind::kPad, {x, pads, v}, {"y"});
  g.add_output(g.node(n).outputs[0]);
  try {
    Executor ex(g);
    ex.run({at::randn({1, 2, 3, 3}), at::full({}, 7.0F)});
    ADD_FAILURE() << "a computed constant_value was accepted";
  } catch (const ModelFormatError& e) {
    EXPECT_NE(std::string(e.what()).find("'pad'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("constant_value) must be a constant"), std::string::npos)
        << e.what();
  }
}

// A lower limit than physical memory (the fuzz target that runs models sets one): a size
// under it runs, one over it is refused with the limit named, and 0 restores the default.
TEST(HostileSizes, TensorMemoryLimitCanBeLowered) {
  Graph g;
  g.opset = 13;
  ValueId s = g.add_input("s", DType::kInt64, {1});
  NodeId c = g.add_node("fill", OpKind::kConstantOfShape, {s}, {"f"});
  g.add_output(g.node(c).outputs[0]);
  Executor ex(g);
  const int64_t one_mib_floats = int64_t{1} << 18;
  set_tensor_memory_limit(int64_t{1} << 20);
  EXPECT_EQ(tensor_memory_limit(), int64_t{1} << 20);
  EXPECT_EQ(ex.run({at::tensor(std::vector<int64_t>{one_mib_floats})}).at(0).numel(),
            one_mib_floats);
  try {
    ex.run({at::tensor(std::vector<int64_t>{one_mib_floats + 1})});
    ADD_FAILURE() << "no error over the limit";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("the limit of"), std::string::npos) << e.what();
  }
  set_tensor_memory_limit(0);
  EXPECT_GT(tensor_memory_limit(), int64_t{1} << 20);
  EXPECT_EQ(ex.run({at::tensor(std::vector<int64_t>{one_mib_floats + 1})}).at(0).numel(),
            one_mib_floats + 1);
}
}  // namespace
}  // namespace fg

namespace fg {
namespace {
// copy_into (windowed recompute's copies of boxes): what ATen's copy_ gives, for boxes of
// every rank up to 5 of contiguous tensors of several types, into boxes of another tensor
// and into fresh ones; and ATen's copy_ for what it does not copy by rows (a transposed view,
// another type).
TEST(CopyInto, SameAsATensCopy) {
  std::mt19937 rng(5);
  auto pick = [&](int64_t n) { return std::uniform_int_distribution<int64_t>(0, n - 1)(rng); };
  for (const at::ScalarType type : {at::kFloat, at::kDouble, at::kLong, at::kBool, at::kByte}) {
    for (int trial = 0; trial < 60; ++trial) {
      const int64_t rank = 1 + trial % 5;
      std::vector<int64_t> shape;
      for (int64_t d = 0; d < rank; ++d) shape.push_back(1 + pick(6));
      const at::Tensor src = (at::randn(shape) * 5).to(type);
      Box b = Box::whole(shape);
      for (int64_t d = 0; d < rank; ++d) {
        b.lo[d] = pick(shape[d]);
        b.hi[d] = b.lo[d] + 1 + pick(shape[d] - b.lo[d]);
      }
      const at::Tensor from = b.of(src);
      at::Tensor fresh = at::empty(from.sizes(), from.options());
      copy_into(fresh, from);
      EXPECT_TRUE(at::equal(fresh, from)) << trial;
      // Into the same box of another tensor: the rest of it untouched.
      at::Tensor dst = at::zeros(shape, src.options());
      at::Tensor want = dst.clone();
      b.of(want).copy_(from);
      copy_into(b.of(dst), from);
      EXPECT_TRUE(at::equal(dst, want)) << trial;
    }
  }
  const at::Tensor m = at::randn({4, 5});
  at::Tensor t = at::empty({5, 4});
  copy_into(t, m.t());
  EXPECT_TRUE(at::equal(t, m.t()));
  at::Tensor d = at::empty({4, 5}, at::kDouble);
  copy_into(d, m);
  EXPECT_TRUE(at::equal(d, m.to(at::kDouble)));
}
}  // namespace
}  // namespace fg

namespace fg {
namespace {
// Clip and Relu on faultgraph's own float kernel: ATen's clamp and relu bit for bit on every
// input, NaN (kept), -0 (kept), infinities and subnormals included, at sizes that end inside
// a vector and in the executor's in-place path (the input dies at the node) alike.
TEST(ClampKernel, SameBitsAsATenOnEveryInput) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> uni(-8.0F, 8.0F);
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(),
                            -std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            0.0F,
                            -0.0F,
                            std::numeric_limits<float>::denorm_min(),
                            -std::numeric_limits<float>::denorm_min(),
                            6.0F,
                            std::nextafter(6.0F, 7.0F)};
  for (const int64_t n : {1, 7, 8, 23, 1000}) {
    at::Tensor x = at::empty({1, n});
    float* px = x.data_ptr<float>();
    for (int64_t i = 0; i < n; ++i) px[i] = i % 3 == 0 ? specials[i / 3 % 10] : uni(rng);
    for (const bool relu : {false, true}) {
      Graph g;
      g.opset = 13;
      ValueId in = g.add_input("x", DType::kFloat32, {1, n});
      // An Identity first: the Clip's input is then a value that dies there (in place).
      ValueId mid = g.node(g.add_node("id", OpKind::kIdentity, {in}, {"m"})).outputs[0];
      NodeId node = relu ? g.add_node("r", OpKind::kRelu, {mid}, {"y"})
                         : g.add_node("c", OpKind::kClip,
                                      {mid, g.add_initializer("lo", at::scalar_tensor(0.0F)),
                                       g.add_initializer("hi", at::scalar_tensor(6.0F))},
                                      {"y"});
      g.add_output(g.node(node).outputs[0]);
      at::Tensor want = relu ? at::relu(x) : at::clamp(x, 0.0, 6.0);
      at::Tensor y = Executor(g).run({x.clone()}).at(0).contiguous();
      ASSERT_EQ(std::memcmp(y.data_ptr(), want.data_ptr(), static_cast<size_t>(n) * 4), 0)
          << (relu ? "Relu" : "Clip") << " at size " << n;
    }
  }
}
}  // namespace
}  // namespace fg
