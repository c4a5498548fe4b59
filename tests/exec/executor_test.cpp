#include "faultgraph/exec/executor.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "faultgraph/core/error.h"
#include "test_util.h"

namespace fg {
namespace {

Attrs pads1() {
  Attrs a;
  a.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  return a;
}

// An Inception-like block: a stem feeding three branches (one through a view), an Add
// across two of them and a Concat; the stem output and a reshaped view of it are read
// late, so in-place kernels must not touch them.
struct Block {
  Graph g;
  at::Tensor w1, w2, w3;
};

Block block() {
  Block b;
  Graph& g = b.g;
  b.w1 = at::randn({6, 3, 3, 3});
  b.w2 = at::randn({6, 6, 3, 3});
  b.w3 = at::randn({6, 6, 1, 1});
  ValueId x = g.add_input("x", DType::kFloat32, {kUnknownDim, 3, 9, 7});
  ValueId w1 = g.add_initializer("w1", b.w1);
  ValueId w2 = g.add_initializer("w2", b.w2);
  ValueId w3 = g.add_initializer("w3", b.w3);
  auto out = [&](NodeId n) { return g.node(n).outputs[0]; };
  NodeId stem = g.add_node("stem", OpKind::kConv, {x, w1}, {"s"}, pads1());
  Attrs flat;
  flat.set("axis", int64_t{1});
  NodeId view = g.add_node("view", OpKind::kFlatten, {out(stem)}, {"sv"}, flat);
  NodeId r1 = g.add_node("branch_relu", OpKind::kRelu, {out(stem)}, {"b1"});
  NodeId c2 = g.add_node("branch_conv", OpKind::kConv, {out(r1), w2}, {"b2"}, pads1());
  NodeId c3 = g.add_node("branch_1x1", OpKind::kConv, {out(stem), w3}, {"b3"});
  NodeId add = g.add_node("add", OpKind::kAdd, {out(c2), out(c3)}, {"sum"});
  NodeId relu = g.add_node("relu_sum", OpKind::kRelu, {out(add)}, {"sum_r"});
  Attrs cat;
  cat.set("axis", int64_t{1});
  NodeId concat = g.add_node("concat", OpKind::kConcat, {out(relu), out(stem)}, {"cat"}, cat);
  NodeId gmp = g.add_node("gmp", OpKind::kGlobalMaxPool, {out(concat)}, {"pooled"});
  NodeId sig = g.add_node("late_view", OpKind::kSigmoid, {out(view)}, {"sv_sig"});
  g.add_output(out(gmp));
  g.add_output(out(sig));
  return b;
}

// The same computation written directly with ATen.
std::vector<at::Tensor> reference(const Block& b, const at::Tensor& x) {
  at::Tensor s = at::conv2d(x, b.w1, {}, 1, 1);
  at::Tensor b2 = at::conv2d(at::relu(s), b.w2, {}, 1, 1);
  at::Tensor b3 = at::conv2d(s, b.w3);
  at::Tensor cat = at::cat({at::relu(b2 + b3), s}, 1);
  return {cat.amax({2, 3}, true), at::sigmoid(s.flatten(1))};
}

TEST(Executor, MatchesDirectAtenAndKeepsSharedValuesIntact) {
  Block b = block();
  Executor exec(b.g);
  at::Tensor x = at::randn({2, 3, 9, 7});
  at::Tensor x_copy = x.clone();
  auto out = exec.run({x});
  auto ref = reference(b, x);
  ASSERT_EQ(out.size(), 2U);
  EXPECT_TRUE(at::allclose(out[0], ref[0], 1e-5, 1e-5));
  EXPECT_TRUE(at::allclose(out[1], ref[1], 1e-5, 1e-5));
  EXPECT_TRUE(bitwise_equal(x, x_copy)) << "the caller's input was modified";
}

TEST(Executor, CachedRunEqualsPlainRunAndExposesEveryNode) {
  Block b = block();
  Executor exec(b.g);
  at::Tensor x = at::randn({3, 3, 9, 7});
  auto plain = exec.run({x});
  GoldenCache cache = exec.run_cached({x});
  auto cached = cache.outputs();
  for (size_t i = 0; i < plain.size(); ++i) EXPECT_TRUE(bitwise_equal(plain[i], cached[i]));
  EXPECT_TRUE(at::allclose(cache.at("branch_relu"), at::relu(cache.at("stem"))));
  EXPECT_EQ(cache.at("concat").size(1), 12);
  EXPECT_THROW(cache.at("no_such_node"), UsageError);
}

TEST(Executor, BatchSizesGetTheirOwnPlan) {
  Block b = block();
  Executor exec(b.g);
  at::Tensor x4 = at::randn({4, 3, 9, 7});
  auto y4 = exec.run({x4});
  auto y1 = exec.run({x4.slice(0, 1, 2).contiguous()});
  EXPECT_TRUE(at::allclose(y1[0], y4[0].slice(0, 1, 2), 1e-5, 1e-5));
}

TEST(Executor, RerunEqualsFullForwardOfTheChangedGraph) {
  Block b = block();
  Executor exec(b.g);
  at::Tensor x = at::randn({2, 3, 9, 7});
  GoldenCache cache = exec.run_cached({x});
  // Change one element of the branch_relu output (a fault on that activation).
  ValueId b1 = *b.g.find_value("b1");
  at::Tensor faulty = cache.value(b1).clone();
  faulty.view(-1)[17] = 1e3;
  RerunStats stats;
  auto out = exec.rerun(cache, {{b1, faulty}}, &stats);
  // Reference: the same graph computed by hand with the changed value.
  at::Tensor s = at::conv2d(x, b.w1, {}, 1, 1);
  at::Tensor b2 = at::conv2d(faulty, b.w2, {}, 1, 1);
  at::Tensor cat = at::cat({at::relu(b2 + at::conv2d(s, b.w3)), s}, 1);
  EXPECT_TRUE(at::allclose(out[0], cat.amax({2, 3}, true), 1e-5, 1e-5));
  EXPECT_TRUE(bitwise_equal(out[1], cache.outputs()[1]));
  EXPECT_EQ(stats.nodes_recomputed, 5);  // branch_conv, add, relu_sum, concat, gmp
}

TEST(Executor, RerunStopsWhereTheChangeIsMasked) {
  Block b = block();
  Executor exec(b.g);
  at::Tensor x = at::randn({1, 3, 9, 7});
  GoldenCache cache = exec.run_cached({x});
  // A negative value entering a ReLU made more negative is masked by the ReLU at once.
  ValueId sum = *b.g.find_value("sum");
  at::Tensor sum_changed = cache.value(sum).clone();
  auto sflat = sum_changed.view(-1);
  int64_t idx = (sflat < 0).nonzero().index({0, 0}).item<int64_t>();
  sflat[idx] = sflat[idx] * 2;  // still negative: relu_sum output is unchanged
  RerunStats stats;
  auto out = exec.rerun(cache, {{sum, sum_changed}}, &stats);
  EXPECT_EQ(stats.nodes_recomputed, 1);
  EXPECT_EQ(stats.nodes_masked, 1);
  EXPECT_TRUE(bitwise_equal(out[0], cache.outputs()[0]));
}

TEST(Executor, WrongInputIsAUsageError) {
  Block b = block();
  Executor exec(b.g);
  EXPECT_THROW(exec.run({at::randn({1, 4, 9, 7})}), UsageError);
  EXPECT_THROW(exec.run({}), UsageError);
  EXPECT_THROW(exec.run({at::randn({1, 3, 9, 7}, at::kDouble)}), UsageError);
}

TEST(Executor, ConstantOfShapeAndShapeArithmeticRunOnce) {
  Graph g;
  ValueId x = g.add_input("x", DType::kFloat32, {kUnknownDim, 4});
  NodeId shape = g.add_node("shape", OpKind::kShape, {x}, {"sh"});
  Attrs fill;
  fill.set("value", at::full({1}, 2.5f));
  NodeId cos =
      g.add_node("fill", OpKind::kConstantOfShape, {g.node(shape).outputs[0]}, {"f"}, fill);
  NodeId add = g.add_node("add", OpKind::kAdd, {x, g.node(cos).outputs[0]}, {"y"});
  g.add_output(g.node(add).outputs[0]);
  Executor exec(g);
  at::Tensor in = at::randn({3, 4});
  EXPECT_TRUE(at::allclose(exec.run({in})[0], in + 2.5));
}

// A weight read through a node that is folded into the plan (Transpose of an initializer)
// still reaches the output when a rerun changes it.
TEST(Executor, RerunRecomputesFoldedNodesFedByAChangedWeight) {
  Graph g;
  at::Tensor w = at::randn({3, 4});
  ValueId x = g.add_input("x", DType::kFloat32, {kUnknownDim, 4});
  ValueId wv = g.add_initializer("w", w);
  Attrs perm;
  perm.set("perm", std::vector<int64_t>{1, 0});
  NodeId t = g.add_node("wt", OpKind::kTranspose, {wv}, {"w_t"}, perm);
  NodeId mm = g.add_node("mm", OpKind::kMatMul, {x, g.node(t).outputs[0]}, {"y"});
  g.add_output(g.node(mm).outputs[0]);
  Executor exec(g);
  at::Tensor in = at::randn({2, 4});
  GoldenCache golden = exec.run_cached({in});
  at::Tensor w2 = w.clone();
  w2[1][2] = 100.0f;
  auto y = exec.rerun(golden, {{wv, w2}});
  EXPECT_TRUE(at::allclose(y[0], at::matmul(in, w2.t()), 1e-5, 1e-5));
  EXPECT_FALSE(at::allclose(y[0], golden.outputs()[0]));
  // The same through a ValueFault: bit 25 (an exponent bit: x16 or /16) of w[1][2].
  ValueFault f;
  f.value = wv;
  f.elements = {1 * 4 + 2};
  f.spec.bits = {25};
  RerunResult r = exec.rerun(golden, f);
  at::Tensor w3 = w.clone();
  w3.view(-1)[6] = r.faulty_values[0];
  EXPECT_TRUE(at::allclose(r.outputs[0], at::matmul(in, w3.t()), 1e-5, 1e-5));
  EXPECT_FALSE(r.masked);
  EXPECT_EQ(r.golden_values[0], w[1][2].item<double>());
}

// Convolutions keep oneDNN's blocked copy of a constant weight; a weight changed in place
// (a trainer's optimiser step) is used as it now is, and a weight fault reaches the output.
TEST(Executor, ConvWeightChangedInPlaceIsUsedAsItNowIs) {
  at::manual_seed(3);
  Block b = block();
  Executor exec(b.g);
  at::Tensor x = at::randn({1, 3, 9, 7});
  std::vector<at::Tensor> before = exec.run({x});
  EXPECT_TRUE(at::allclose(before[0], reference(b, x)[0], 1e-4, 1e-4));
  {
    at::NoGradGuard no_grad;
    b.w2.mul_(-2.0);
    b.w3.add_(0.5);
  }
  std::vector<at::Tensor> after = exec.run({x});
  EXPECT_TRUE(at::allclose(after[0], reference(b, x)[0], 1e-4, 1e-4));
  EXPECT_FALSE(at::allclose(after[0], before[0]));
  // A fault in a weight: a corrupted copy, not the packed original.
  GoldenCache golden = exec.run_cached({x});
  ValueFault f;
  f.value = *b.g.find_value("w3");
  f.elements = {7};
  f.spec.bits = {22};  // the top mantissa bit: a finite change
  RerunResult r = exec.rerun(golden, f);
  at::Tensor w3 = b.w3.clone();
  w3.view(-1)[7] = r.faulty_values[0];
  Block faulty = b;
  faulty.w3 = w3;
  EXPECT_TRUE(at::allclose(r.outputs[0], reference(faulty, x)[0], 1e-4, 1e-4));
}

// An input-edge fault is seen by that consumer only; an activation fault by every one.
TEST(Executor, InputEdgeFaultReachesOneConsumer) {
  Block b = block();
  Executor exec(b.g);
  at::Tensor x = at::randn({1, 3, 9, 7});
  GoldenCache golden = exec.run_cached({x});
  ValueId s = *b.g.find_value("s");
  ValueFault edge;
  edge.value = s;
  edge.consumer = b.g.node_named("concat").id;
  edge.input_index = 1;
  edge.elements = {5};
  edge.spec.kind = FaultKind::kSetValue;
  edge.spec.value = 1000.0;
  RerunResult r = exec.rerun(golden, edge);
  // Only concat (and what follows it) ran again, not the branches that read `s` too.
  EXPECT_FALSE(r.masked);
  EXPECT_LE(r.nodes_recomputed, 2);
  ValueFault all = edge;
  all.consumer = kNoNode;
  all.input_index = -1;
  RerunResult every = exec.rerun(golden, all);
  EXPECT_GT(every.nodes_recomputed, r.nodes_recomputed);
  // Setting a value to what it already is changes nothing: masked, nothing recomputed.
  ValueFault same = all;
  same.spec.value = golden.value(s).view(-1)[5].item<double>();
  RerunResult none = exec.rerun(golden, same);
  EXPECT_TRUE(none.masked);
  EXPECT_EQ(none.nodes_recomputed, 0);
}

// Batched fault variants: the first batch of each size runs a golden slot, later batches of
// a size shown exact run without one, a size that sums otherwise (Gemm beyond 2 x 4 rows
// leaves faultgraph's kernel for OpenBLAS) unbatches the node; whatever the sequence, each
// variant gets the bits its fault gives alone.
TEST(Executor, BatchedVariantsOfEverySizeGiveTheBitsOfOneAtATime) {
  Graph g;
  ValueId x = g.add_input("x", DType::kFloat32, {1, 2048});
  ValueId w = g.add_initializer("w", at::randn({10, 2048}));
  ValueId bias = g.add_initializer("bias", at::randn({10}));
  NodeId relu = g.add_node("relu", OpKind::kRelu, {x}, {"r"});
  Attrs t;
  t.set("transB", int64_t{1});
  NodeId fc = g.add_node("fc", OpKind::kGemm, {g.node(relu).outputs[0], w, bias}, {"y"}, t);
  g.add_output(g.node(fc).outputs[0]);
  Executor exec(g);
  GoldenCache golden = exec.run_cached({at::randn({1, 2048})});
  const ValueId r = g.node(relu).outputs[0];
  // Faults at zeros of the ReLU's output: bit 30 makes them 2, finite and never masked.
  const at::Tensor zeros = (golden.value(r).view(-1) == 0).nonzero().view(-1);
  ASSERT_GT(zeros.numel(), 100);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  // 2 shows 3 exact, so 3 runs without a golden slot; 6 shows 7; 9 must be shown itself.
  bool may_unbatch = false;
  for (const int size : {2, 3, 6, 7, 9, 12, 3}) {
    may_unbatch = may_unbatch || size >= 8;  // OpenBLAS may sum otherwise: fc unbatched
    std::vector<ValueFault> faults(static_cast<size_t>(size));
    for (ValueFault& f : faults) {
      f.value = r;
      f.elements = {zeros[at::randint(zeros.numel(), {1}, gen).item<int64_t>()].item<int64_t>()};
      f.spec.bits = {30};
    }
    for (Recompute mode : {Recompute::kDownstream, Recompute::kCone}) {
      std::vector<RerunResult> together = exec.rerun_batch(golden, faults, mode);
      ASSERT_EQ(together.size(), faults.size());
      for (size_t i = 0; i < faults.size(); ++i) {
        RerunResult alone = exec.rerun(golden, faults[i], mode);
        EXPECT_FALSE(alone.masked);
        EXPECT_TRUE(bitwise_equal(together[i].outputs[0], alone.outputs[0]))
            << "batch of " << size << ", variant " << i;
        // Up to 2 x 4 rows (a golden slot included), faultgraph's own kernel: batched.
        if (!may_unbatch) {
          EXPECT_EQ(together[i].nodes_batched, 1) << "batch of " << size;
        }
      }
    }
  }
}

// Batched windows: variants that each window a convolution (3 x 3 on faultgraph's im2col
// kernel, then 1 x 1) compute their windows in one call (Region::compute_many), each with the
// bits its fault gives alone; faults at the borders and inside give windows of other shapes.
TEST(Executor, BatchedWindowsGiveTheBitsOfOneAtATime) {
  at::manual_seed(21);
  Graph g;
  ValueId x = g.add_input("x", DType::kFloat32, {1, 16, 7, 7});
  ValueId w1 = g.add_initializer("w1", at::randn({24, 16, 3, 3}));
  ValueId b1 = g.add_initializer("b1", at::randn({24}));
  ValueId w2 = g.add_initializer("w2", at::randn({8, 24, 1, 1}));
  NodeId c1 = g.add_node("c1", OpKind::kConv, {x, w1, b1}, {"y1"}, pads1());
  NodeId r = g.add_node("r", OpKind::kRelu, {g.node(c1).outputs[0]}, {"y2"});
  NodeId c2 = g.add_node("c2", OpKind::kConv, {g.node(r).outputs[0], w2}, {"y3"});
  g.add_output(g.node(c2).outputs[0]);
  ExecOptions every_window;
  every_window.min_window_saving = 0;
  Executor exec(g, every_window);
  GoldenCache golden = exec.run_cached({at::randn({1, 16, 7, 7})});
  std::vector<ValueFault> faults;
  // (channel, row, column) of the input: corners, edges, inside; bit 26 divides a value
  // near 1 by 256 (finite outputs: a trial whose outputs turn non-finite runs again alone).
  const int64_t at[][3] = {{0, 0, 0}, {3, 6, 6}, {5, 3, 3}, {15, 0, 4}, {7, 2, 6}, {9, 4, 1}};
  for (const auto& e : at) {
    ValueFault f;
    f.value = x;
    f.elements = {(e[0] * 7 + e[1]) * 7 + e[2]};
    f.spec.bits = {26};
    faults.push_back(f);
  }
  std::vector<RerunResult> together = exec.rerun_batch(golden, faults, Recompute::kCone);
  ASSERT_EQ(together.size(), faults.size());
  for (size_t i = 0; i < faults.size(); ++i) {
    RerunResult alone = exec.rerun(golden, faults[i], Recompute::kCone);
    EXPECT_FALSE(alone.masked);
    EXPECT_TRUE(bitwise_equal(together[i].outputs[0], alone.outputs[0])) << "variant " << i;
    EXPECT_EQ(together[i].flops, alone.flops) << "variant " << i;
    // Both convolutions windowed, together with the other variants.
    EXPECT_GE(together[i].nodes_batched, 2) << "variant " << i;
  }
}

TEST(BitwiseEqual, DistinguishesSignedZeroAndNanPayloads) {
  at::Tensor a = at::zeros({3});
  at::Tensor b = a.clone();
  EXPECT_TRUE(bitwise_equal(a, b));
  b[1] = -0.0;
  EXPECT_FALSE(bitwise_equal(a, b));
}

}  // namespace
}  // namespace fg
