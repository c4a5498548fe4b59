// Windowed (cone) recompute against the downstream recompute, op by op, at odd geometry:
// strides, dilations, groups, asymmetric pads, ceil mode, broadcasting, concat offsets.
#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "faultgraph/exec/executor.h"
#include "faultgraph/models/zoo.h"
#include "test_util.h"

namespace fg {
namespace {

// Faults at random single elements of `target` (every consumer sees them): the cone
// rerun gives the downstream rerun's outputs (within rounding) and the same masking.
void expect_cone_matches(const Graph& g, const at::Tensor& x, const std::string& target, int trials,
                         int bit = 27) {
  ExecOptions every_window;  // these graphs are small: window every node that can be
  every_window.min_window_saving = 0;
  Executor exec(g, every_window);
  GoldenCache golden = exec.run_cached({x});
  ValueId v = *g.find_value(target);
  int64_t numel = golden.value(v).numel();
  auto gen = at::make_generator<at::CPUGeneratorImpl>(77);
  int windowed = 0;
  for (int i = 0; i < trials; ++i) {
    ValueFault f;
    f.value = v;
    f.elements = {at::randint(numel, {1}, gen).item<int64_t>()};
    f.spec.bits = {bit};
    RerunResult down = exec.rerun(golden, f, Recompute::kDownstream);
    RerunResult cone = exec.rerun(golden, f, Recompute::kCone);
    ASSERT_EQ(down.masked, cone.masked) << target << " trial " << i;
    for (size_t o = 0; o < down.outputs.size(); ++o) {
      const at::Tensor& c = cone.outputs[o];
      const at::Tensor& d = down.outputs[o];
      ASSERT_TRUE(at::equal(c.isnan(), d.isnan())) << target << " trial " << i;
      at::Tensor ok = d.isfinite();
      ASSERT_TRUE(at::equal(c.masked_select(ok.logical_not()).nan_to_num(0),
                            d.masked_select(ok.logical_not()).nan_to_num(0)));
      EXPECT_LE(test::relative_error(c.masked_select(ok), d.masked_select(ok)), 1e-5)
          << target << " trial " << i << " element " << f.elements[0];
    }
    windowed += cone.flops < down.flops ? 1 : 0;
  }
  EXPECT_GT(windowed, 0) << "no trial was windowed";
}

Attrs ints(const std::string& name, std::vector<int64_t> v, Attrs a = {}) {
  a.set(name, std::move(v));
  return a;
}

TEST(Cone, ConvStrideDilationGroupsAsymmetricPads) {
  Graph g;
  ValueId x = g.add_input("x", DType::kFloat32, {1, 8, 13, 11});
  ValueId w1 = g.add_initializer("w1", at::randn({8, 4, 3, 3}));
  ValueId b1 = g.add_initializer("b1", at::randn({8}));
  ValueId w2 = g.add_initializer("w2", at::randn({6, 8, 3, 2}));
  Attrs a = ints("strides", {2, 1}, ints("dilations", {2, 1}, ints("pads", {1, 0, 2, 1})));
  a.set("group", int64_t{2});
  NodeId c1 = g.add_node("c1", OpKind::kConv, {x, w1, b1}, {"y1"}, a);
  NodeId r = g.add_node("r", OpKind::kRelu, {g.node(c1).outputs[0]}, {"y2"});
  NodeId c2 = g.add_node("c2", OpKind::kConv, {g.node(r).outputs[0], w2}, {"y3"},
                         ints("pads", {1, 1, 1, 0}, ints("strides", {1, 2})));
  g.add_output(g.node(c2).outputs[0]);
  at::Tensor in = at::randn({1, 8, 13, 11});
  expect_cone_matches(g, in, "x", 60);
  expect_cone_matches(g, in, "y1", 60);
}

TEST(Cone, DepthwiseConvAndPools) {
  Graph g;
  ValueId x = g.add_input("x", DType::kFloat32, {1, 6, 15, 15});
  ValueId w = g.add_initializer("w", at::randn({6, 1, 3, 3}));
  Attrs dw = ints("pads", {1, 1, 1, 1});
  dw.set("group", int64_t{6});
  NodeId c = g.add_node("dw", OpKind::kConv, {x, w}, {"d"}, dw);
  Attrs mp = ints("kernel_shape", {3, 3}, ints("strides", {2, 2}, ints("pads", {0, 1, 1, 0})));
  mp.set("ceil_mode", int64_t{1});
  NodeId p = g.add_node("mp", OpKind::kMaxPool, {g.node(c).outputs[0]}, {"p"}, mp);
  NodeId gp = g.add_node("gap", OpKind::kGlobalAveragePool, {g.node(p).outputs[0]}, {"q"});
  g.add_output(g.node(gp).outputs[0]);
  at::Tensor in = at::randn({1, 6, 15, 15});
  expect_cone_matches(g, in, "x", 60);
  expect_cone_matches(g, in, "d", 60);
}

// AveragePool windows (its own kernel: the whole op's bits) through strides, asymmetric pads,
// ceil mode and padding left out of the divisor, and a fault in the pool's output.
TEST(Cone, AveragePoolWindows) {
  Graph g;
  ValueId x = g.add_input("x", DType::kFloat32, {1, 4, 17, 15});
  ValueId w = g.add_initializer("w", at::randn({4, 4, 3, 3}));
  NodeId c = g.add_node("c", OpKind::kConv, {x, w}, {"a"}, ints("pads", {1, 1, 1, 1}));
  Attrs ap = ints("kernel_shape", {3, 3}, ints("strides", {2, 1}, ints("pads", {1, 0, 2, 1})));
  ap.set("ceil_mode", int64_t{1});
  NodeId p = g.add_node("ap", OpKind::kAveragePool, {g.node(c).outputs[0]}, {"p"}, ap);
  Attrs ap2 = ints("kernel_shape", {3, 3}, ints("pads", {1, 1, 1, 1}));
  ap2.set("count_include_pad", int64_t{1});
  NodeId p2 = g.add_node("ap2", OpKind::kAveragePool, {g.node(p).outputs[0]}, {"q"}, ap2);
  NodeId gp = g.add_node("gap", OpKind::kGlobalAveragePool, {g.node(p2).outputs[0]}, {"r"});
  g.add_output(g.node(gp).outputs[0]);
  at::Tensor in = at::randn({1, 4, 17, 15});
  expect_cone_matches(g, in, "a", 60);
  expect_cone_matches(g, in, "p", 60);
}

// Constant Pad (InceptionV3 exports its branch pools as Pad + AveragePool) shifts a changed
// box by the begin pads, crops where a pad is negative, pads the channels too and fills with
// its value; a reflect Pad after it has no region (a border change reaches its mirror).
TEST(Cone, PadWindowsShiftCropAndFill) {
  Graph g;
  ValueId x = g.add_input("x", DType::kFloat32, {1, 4, 13, 11});
  ValueId w = g.add_initializer("w", at::randn({4, 4, 3, 3}));
  NodeId c = g.add_node("c", OpKind::kConv, {x, w}, {"a"}, ints("pads", {1, 1, 1, 1}));
  // N, C, H, W begins then ends: one channel in front, 2 rows above and 1 below, the first
  // column cropped and 3 added at the end: 1 x 5 x 16 x 13, the pads filled with 0.5.
  ValueId pads = g.add_initializer("pads", at::tensor({0, 1, 2, -1, 0, 0, 1, 3}, at::kLong));
  ValueId fill = g.add_initializer("fill", at::full({}, 0.5F));
  NodeId p = g.add_node("pad", OpKind::kPad, {g.node(c).outputs[0], pads, fill}, {"q"});
  NodeId ap = g.add_node("ap", OpKind::kAveragePool, {g.node(p).outputs[0]}, {"r"},
                         ints("kernel_shape", {3, 3}));
  ValueId mirror = g.add_initializer("mirror", at::tensor({0, 0, 1, 2, 0, 0, 2, 1}, at::kLong));
  Attrs reflect;
  reflect.set("mode", std::string("reflect"));
  NodeId rp = g.add_node("rpad", OpKind::kPad, {g.node(ap).outputs[0], mirror}, {"s"}, reflect);
  ValueId w2 = g.add_initializer("w2", at::randn({3, 5, 3, 3}));
  NodeId c2 = g.add_node("c2", OpKind::kConv, {g.node(rp).outputs[0], w2}, {"t"});
  g.add_output(g.node(c2).outputs[0]);
  at::Tensor in = at::randn({1, 4, 13, 11});
  expect_cone_matches(g, in, "a", 80);
  expect_cone_matches(g, in, "a", 40, 30);  // NaN and Inf included
  expect_cone_matches(g, in, "q", 60);      // faults in the pads too
}

TEST(Cone, ConcatAddBroadcastAndBatchNorm) {
  Graph g;
  ValueId x = g.add_input("x", DType::kFloat32, {1, 4, 9, 9});
  ValueId w = g.add_initializer("w", at::randn({4, 4, 3, 3}));
  ValueId bias = g.add_initializer("bias", at::randn({1, 8, 1, 1}));
  NodeId c = g.add_node("c", OpKind::kConv, {x, w}, {"a"}, ints("pads", {1, 1, 1, 1}));
  Attrs cat;
  cat.set("axis", int64_t{1});
  NodeId k = g.add_node("cat", OpKind::kConcat, {x, g.node(c).outputs[0]}, {"k"}, cat);
  NodeId add = g.add_node("add", OpKind::kAdd, {g.node(k).outputs[0], bias}, {"s"});
  std::vector<ValueId> bn{g.node(add).outputs[0]};
  for (const char* n : {"scale", "shift", "mean", "var"})
    bn.push_back(
        g.add_initializer(n, std::string(n) == "var" ? at::rand({8}) + 0.5 : at::randn({8})));
  NodeId b = g.add_node("bn", OpKind::kBatchNormalization, bn, {"n"});
  NodeId cl = g.add_node("clip", OpKind::kClip, {g.node(b).outputs[0]}, {"o"}, [] {
    Attrs a;
    a.set("min", 0.0);
    a.set("max", 6.0);
    return a;
  }());
  g.opset = 6;  // Clip with min/max attributes
  g.add_output(g.node(cl).outputs[0]);
  at::Tensor in = at::randn({1, 4, 9, 9});
  expect_cone_matches(g, in, "x", 80);
  expect_cone_matches(g, in, "k", 80, 30);  // NaN and Inf included
  expect_cone_matches(g, in, "a", 80, 29);
}

// A ResNet-50 bottleneck at 28 x 28: oneDNN's 1x1 kernel sums a 512-channel input in
// blocks chosen by the output's shape (on this machine, only full-height windows of
// conv1 sum as the whole layer does). Windows are used only at shapes shown to give the
// layer's bits, so the cone rerun equals the downstream rerun bit for bit.
TEST(Cone, WideOneByOneConvWindowsGiveTheWholeLayersBits) {
  at::manual_seed(11);
  Graph g;
  ValueId x = g.add_input("x", DType::kFloat32, {1, 512, 28, 28});
  auto conv = [&](const std::string& name, ValueId in, int64_t cin, int64_t cout, int64_t k) {
    ValueId w =
        g.add_initializer(name + ".w", at::randn({cout, cin, k, k}) / std::sqrt(cin * k * k));
    ValueId b = g.add_initializer(name + ".b", at::randn({cout}) * 0.1);
    Attrs a = ints("pads", {k / 2, k / 2, k / 2, k / 2});
    NodeId c = g.add_node(name, OpKind::kConv, {in, w, b}, {name + "_out"}, a);
    NodeId r = g.add_node(name + ".relu", OpKind::kRelu, {g.node(c).outputs[0]}, {name + "_relu"});
    return g.node(r).outputs[0];
  };
  ValueId y = conv("conv3", conv("conv2", conv("conv1", x, 512, 128, 1), 128, 128, 3), 128, 512, 1);
  NodeId add = g.add_node("add", OpKind::kAdd, {y, x}, {"sum"});
  g.add_output(g.node(add).outputs[0]);
  Executor exec(g);
  GoldenCache golden = exec.run_cached({at::randn({1, 512, 28, 28})});
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  for (const std::string target : {"x", "conv1_relu", "conv2_relu"}) {
    ValueId v = *g.find_value(target);
    const int64_t numel = golden.value(v).numel();
    for (int i = 0; i < 30; ++i) {
      ValueFault f;
      f.value = v;
      f.elements = {at::randint(numel, {1}, gen).item<int64_t>()};
      f.spec.bits = {static_cast<int>(at::randint(18, 31, {1}, gen).item<int64_t>())};
      RerunResult down = exec.rerun(golden, f, Recompute::kDownstream);
      RerunResult cone = exec.rerun(golden, f, Recompute::kCone);
      ASSERT_EQ(down.masked, cone.masked) << target << " trial " << i;
      ASSERT_TRUE(bitwise_equal(cone.outputs[0], down.outputs[0])) << target << " trial " << i;
      EXPECT_LT(cone.flops, down.flops) << target << " trial " << i;
    }
  }
}

// Convolutions with at most 196 output positions a sample (ResNet-50's 7 x 7 and 14 x 14,
// InceptionV3's 8 x 8 layers) run as im2col + faultgraph's 1x1 kernel: they agree with
// ATen's convolution within rounding, every sample of a batch gets the bits it gets alone,
// and windows give the whole layer's bits (no checks: exact by construction), at strides,
// dilations, asymmetric pads, 3x1 / 1x3 and 3x5 kernels, rows of 7 to 30 columns, 14 x 14.
TEST(Cone, SmallConvolutionsGiveTheirBitsInWindowsAndBatches) {
  struct Layer {
    int64_t cin, cout, h, w, kh, kw, stride, dilation;
    std::vector<int64_t> pads;  // ONNX: begins, then ends
  };
  const std::vector<Layer> layers{{24, 16, 7, 7, 3, 3, 1, 1, {1, 1, 1, 1}},
                                  {12, 20, 15, 15, 3, 3, 2, 1, {1, 1, 1, 1}},
                                  {16, 16, 8, 8, 3, 1, 1, 1, {1, 0, 1, 0}},
                                  {16, 8, 8, 8, 1, 3, 1, 1, {0, 1, 0, 1}},
                                  {10, 12, 9, 9, 3, 3, 1, 2, {2, 1, 0, 2}},
                                  {6, 8, 4, 16, 3, 3, 1, 1, {1, 1, 1, 1}},
                                  {6, 8, 2, 30, 3, 5, 1, 1, {1, 2, 1, 2}},
                                  {8, 8, 6, 6, 1, 1, 1, 1, {1, 1, 1, 1}},       // a padded 1x1
                                  {16, 12, 14, 14, 3, 3, 1, 1, {1, 1, 1, 1}}};  // 196 positions
  int seed = 40;
  for (const Layer& l : layers) {
    at::manual_seed(seed++);
    Graph g;
    ValueId x = g.add_input("x", DType::kFloat32, {-1, l.cin, l.h, l.w});
    ValueId w = g.add_initializer("w", at::randn({l.cout, l.cin, l.kh, l.kw}));
    ValueId b = g.add_initializer("b", at::randn({l.cout}));
    Attrs a =
        ints("pads", l.pads,
             ints("strides", {l.stride, l.stride}, ints("dilations", {l.dilation, l.dilation})));
    NodeId c = g.add_node("c", OpKind::kConv, {x, w, b}, {"y"}, a);
    NodeId r = g.add_node("r", OpKind::kRelu, {g.node(c).outputs[0]}, {"z"});
    g.add_output(g.node(r).outputs[0]);
    const std::string what =
        fmt::format("{}x{}x{} k{}x{} s{} d{}", l.cin, l.h, l.w, l.kh, l.kw, l.stride, l.dilation);
    Executor exec(g);
    const at::Tensor batch = at::randn({3, l.cin, l.h, l.w});
    GoldenCache golden = exec.run_cached({batch});
    const at::Tensor y = golden.at("c");
    ASSERT_LE(y.size(2) * y.size(3), 196) << what;
    // ATen on the input padded as ONNX says (its own padding is symmetric only).
    const at::Tensor padded =
        at::constant_pad_nd(batch, {l.pads[1], l.pads[3], l.pads[0], l.pads[2]}, 0.0);
    const std::vector<int64_t> strides{l.stride, l.stride}, zero{0, 0},
        dilations{l.dilation, l.dilation};
    const at::Tensor want =
        at::conv2d(padded, golden.value(w), golden.value(b), strides, zero, dilations);
    EXPECT_LE(test::relative_error(y, want), 1e-5) << what;
    for (int64_t k = 0; k < 3; ++k) {
      Executor alone(g);
      GoldenCache one = alone.run_cached({batch.narrow(0, k, 1)});
      EXPECT_TRUE(bitwise_equal(one.at("c"), y.narrow(0, k, 1).contiguous()))
          << what << " sample " << k;
    }
    ExecOptions every_window;  // these layers are small: window wherever a region allows
    every_window.min_window_saving = 0;
    Executor single(g, every_window);
    GoldenCache first = single.run_cached({batch.narrow(0, 1, 1).contiguous()});
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    int windowed = 0;
    for (int i = 0; i < 40; ++i) {
      ValueFault f;
      f.value = x;
      f.elements = {at::randint(l.cin * l.h * l.w, {1}, gen).item<int64_t>()};
      f.spec.bits = {static_cast<int>(at::randint(20, 31, {1}, gen).item<int64_t>())};
      RerunResult down = single.rerun(first, f, Recompute::kDownstream);
      RerunResult cone = single.rerun(first, f, Recompute::kCone);
      ASSERT_EQ(down.masked, cone.masked) << what << " trial " << i;
      ASSERT_TRUE(bitwise_equal(cone.outputs[0], down.outputs[0])) << what << " trial " << i;
      windowed += cone.flops < down.flops ? 1 : 0;
    }
    EXPECT_GT(windowed, 0) << what;
  }
}

// A stride-2 1x1 convolution (ResNet-50's downsampling) reads 55 of 56 rows; its windows
// (faultgraph's 1x1 kernel on the positions they read) give the whole layer's bits and are
// computed as windows, on every CPU.
TEST(Cone, StridedOneByOneConvWindowsGiveTheWholeLayersBits) {
  at::manual_seed(12);
  Graph g;
  ValueId x = g.add_input("x", DType::kFloat32, {1, 256, 56, 56});
  ValueId w = g.add_initializer("w", at::randn({512, 256, 1, 1}) / 16);
  NodeId c = g.add_node("down", OpKind::kConv, {x, w}, {"down_out"}, ints("strides", {2, 2}));
  NodeId r = g.add_node("relu", OpKind::kRelu, {g.node(c).outputs[0]}, {"y"});
  g.add_output(g.node(r).outputs[0]);
  Executor exec(g);
  GoldenCache golden = exec.run_cached({at::randn({1, 256, 56, 56})});
  auto gen = at::make_generator<at::CPUGeneratorImpl>(6);
  for (int i = 0; i < 20; ++i) {
    ValueFault f;
    f.value = x;
    // Even rows and columns: a stride-2 1x1 kernel reads only those.
    const int64_t c0 = at::randint(256, {1}, gen).item<int64_t>();
    const int64_t h = 2 * at::randint(28, {1}, gen).item<int64_t>();
    const int64_t wd = 2 * at::randint(28, {1}, gen).item<int64_t>();
    f.elements = {(c0 * 56 + h) * 56 + wd};
    f.spec.bits = {29};
    RerunResult down = exec.rerun(golden, f, Recompute::kDownstream);
    RerunResult cone = exec.rerun(golden, f, Recompute::kCone);
    ASSERT_FALSE(down.masked) << "trial " << i;
    ASSERT_EQ(down.masked, cone.masked) << "trial " << i;
    ASSERT_TRUE(bitwise_equal(cone.outputs[0], down.outputs[0])) << "trial " << i;
    EXPECT_LT(cone.flops, 0.5 * down.flops) << "trial " << i << ": computed whole";
  }
}

// Chains of per-element steps after a step (Conv -> BatchNormalization -> Relu or Clip,
// Add -> Relu; Executor::Plan::Step::chain) run fused in a cone or downstream rerun: in
// place on the head's window or whole output, only the last value kept. They give the bits
// of a full forward, step by step, bit for bit: faults before each head, in a chain's middle
// (the chain then starts after it), on a BatchNormalization's parameters (which stops the
// chain there), a depthwise window's few channels (BatchNormalization over some channels),
// and a value with two consumers (where a chain ends); masking the same.
TEST(Cone, FusedChainsGiveTheStepByStepBits) {
  at::manual_seed(21);
  Graph g;
  ValueId x = g.add_input("x", DType::kFloat32, {1, 8, 10, 10});
  auto bn = [&](const std::string& name, ValueId in, int64_t c) {
    std::vector<ValueId> ins{in};
    for (const char* p : {"scale", "shift", "mean", "var"}) {
      at::Tensor t = std::string(p) == "var" ? at::rand({c}) + 0.5 : at::randn({c});
      ins.push_back(g.add_initializer(name + "." + p, t));
    }
    return g.node(g.add_node(name, OpKind::kBatchNormalization, ins, {name + "_out"})).outputs[0];
  };
  auto relu = [&](const std::string& name, ValueId in) {
    return g.node(g.add_node(name, OpKind::kRelu, {in}, {name + "_out"})).outputs[0];
  };
  ValueId w1 = g.add_initializer("w1", at::randn({16, 8, 1, 1}) / 3);
  ValueId a = g.node(g.add_node("c1", OpKind::kConv, {x, w1}, {"c1_out"})).outputs[0];
  ValueId r1 = relu("r1", bn("bn1", a, 16));
  ValueId wd = g.add_initializer("wd", at::randn({16, 1, 3, 3}) / 3);
  Attrs dw = ints("pads", {1, 1, 1, 1});
  dw.set("group", int64_t{16});
  ValueId d = g.node(g.add_node("dw", OpKind::kConv, {r1, wd}, {"dw_out"}, dw)).outputs[0];
  ValueId lo = g.add_initializer("lo", at::zeros({}));
  ValueId hi = g.add_initializer("hi", at::full({}, 6.0));
  ValueId k = g.node(g.add_node("clip", OpKind::kClip, {bn("bn2", d, 16), lo, hi}, {"clip_out"}))
                  .outputs[0];
  ValueId w3 = g.add_initializer("w3", at::randn({16, 16, 1, 1}) / 4);
  ValueId e = g.node(g.add_node("c3", OpKind::kConv, {k, w3}, {"c3_out"})).outputs[0];
  ValueId s =
      g.node(g.add_node("add", OpKind::kAdd, {bn("bn3", e, 16), r1}, {"add_out"})).outputs[0];
  g.add_output(relu("r2", s));
  ExecOptions every_window;
  every_window.min_window_saving = 0;
  Executor exec(g, every_window);
  GoldenCache golden = exec.run_cached({at::randn({1, 8, 10, 10})});
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  int masked = 0, windowed = 0;
  for (const char* target :
       {"x", "c1_out", "bn1_out", "r1_out", "dw_out", "bn2.scale", "c3_out", "add_out"}) {
    const ValueId v = *g.find_value(target);
    for (int i = 0; i < 30; ++i) {
      ValueFault f;
      f.value = v;
      f.elements = {at::randint(golden.value(v).numel(), {1}, gen).item<int64_t>()};
      f.spec.bits = {std::vector<int>{30, 26, 22, 3, 31}[static_cast<size_t>(i % 5)]};
      RerunResult full = exec.rerun(golden, f, Recompute::kFull);
      for (Recompute mode : {Recompute::kDownstream, Recompute::kCone}) {
        RerunResult r = exec.rerun(golden, f, mode);
        ASSERT_EQ(r.masked, full.masked) << target << " trial " << i;
        ASSERT_TRUE(bitwise_equal(r.outputs[0], full.outputs[0]))
            << target << " trial " << i << (mode == Recompute::kCone ? " cone" : " downstream");
        if (mode == Recompute::kCone) windowed += r.flops < 0.5 * full.flops ? 1 : 0;
      }
      masked += full.masked ? 1 : 0;
    }
  }
  EXPECT_GT(masked, 0);
  EXPECT_GT(windowed, 0);
}

// A window's kernel may write into a part it copied, never into a value or a patch that
// others read: here `a`'s patch is exactly each Add's window (the patch itself, not a
// copy), and the second Add reads `a` after the first ran.
TEST(Cone, WindowsNeverOverwriteWhatOthersRead) {
  at::manual_seed(3);
  Graph g;
  ValueId x = g.add_input("x", DType::kFloat32, {1, 4, 8, 8});
  ValueId w = g.add_initializer("w", at::randn({4, 4, 1, 1}));
  ValueId k = g.add_initializer("k", at::randn({1, 4, 8, 8}));
  ValueId a = g.node(g.add_node("c", OpKind::kConv, {x, w}, {"a"})).outputs[0];
  g.add_output(g.node(g.add_node("add", OpKind::kAdd, {a, k}, {"s"})).outputs[0]);
  ValueId k2 = g.add_initializer("k2", at::randn({1, 4, 8, 8}));
  g.add_output(g.node(g.add_node("add2", OpKind::kAdd, {a, k2}, {"m"})).outputs[0]);
  ExecOptions every_window;
  every_window.min_window_saving = 0;
  Executor exec(g, every_window);
  GoldenCache golden = exec.run_cached({at::randn({1, 4, 8, 8})});
  const at::Tensor s0 = golden.outputs()[0].clone(), m0 = golden.outputs()[1].clone();
  for (int64_t e : {0, 37, 100, 255}) {
    ValueFault f;
    f.value = x;
    f.elements = {e};
    f.spec.bits = {29};
    RerunResult full = exec.rerun(golden, f, Recompute::kFull);
    for (Recompute mode : {Recompute::kDownstream, Recompute::kCone}) {
      RerunResult r = exec.rerun(golden, f, mode);
      for (size_t o = 0; o < 2; ++o)
        ASSERT_TRUE(bitwise_equal(r.outputs[o], full.outputs[o]))
            << "element " << e << " output " << o;
    }
  }
  EXPECT_TRUE(bitwise_equal(golden.outputs()[0], s0));
  EXPECT_TRUE(bitwise_equal(golden.outputs()[1], m0));
}

// Transformers: the built-in vit's token-wise ops (Transpose, Reshape splitting and merging
// heads, LayerNormalization, MatMul rows and columns, Softmax rows) keep a fault in one
// token's rows until attention mixes the tokens; the cone rerun equals the downstream one.
TEST(Cone, VisionTransformerTokensAttentionAndLayerNorm) {
  ModelOptions o;
  o.channels = 1;
  o.height = o.width = 28;
  o.classes = 10;
  o.seed = 9;
  Graph g = build_model("vit", o);
  at::manual_seed(4);
  at::Tensor in = at::rand({1, 1, 28, 28});
  const std::string l = "encoder.layers.encoder_layer_";
  for (const std::string& v :
       {std::string("tokens_out"), l + "0.ln_1_out", l + "1.self_attention.q_proj_out",
        l + "1.self_attention.scores_out", l + "2.mlp.1_out", l + "3.ln_2_out",
        l + "3.self_attention.context_out"}) {
    SCOPED_TRACE(v);
    expect_cone_matches(g, in, v, 40, 26);
  }
}

// A cone trial starts from a patch of the changed elements over the golden value (no copy
// of the whole value): several elements, one of them listed twice, give what a copy of the
// whole corrupted value gives in every mode, and the values the result reports.
TEST(Cone, MultiElementFaultStartsFromAPatch) {
  Graph g;
  ValueId x = g.add_input("x", DType::kFloat32, {1, 4, 12, 12});
  ValueId w1 = g.add_initializer("w1", at::randn({6, 4, 3, 3}));
  ValueId w2 = g.add_initializer("w2", at::randn({5, 6, 3, 3}));
  NodeId c1 = g.add_node("c1", OpKind::kConv, {x, w1}, {"y1"}, ints("pads", {1, 1, 1, 1}));
  NodeId r = g.add_node("r", OpKind::kRelu, {g.node(c1).outputs[0]}, {"y2"});
  NodeId c2 = g.add_node("c2", OpKind::kConv, {g.node(r).outputs[0], w2}, {"y3"});
  g.add_output(g.node(c2).outputs[0]);
  ExecOptions every_window;
  every_window.min_window_saving = 0;
  Executor exec(g, every_window);
  GoldenCache golden = exec.run_cached({at::randn({1, 4, 12, 12})});
  ValueFault f;
  f.value = *g.find_value("y1");
  f.elements = {200, 7, 200, 611};
  f.spec.bits = {28};
  FaultSpec spec = f.spec;
  spec.selection = Selection::kCoordinates;
  spec.coordinates = f.elements;
  at::Tensor want = apply_fault(golden.value(f.value), spec, false).output;
  RerunResult full = exec.rerun(golden, f, Recompute::kFull);
  ASSERT_TRUE(at::equal(full.faulty_value, want));
  f.keep_faulty_value = false;
  for (Recompute mode : {Recompute::kDownstream, Recompute::kCone}) {
    RerunResult r2 = exec.rerun(golden, f, mode);
    EXPECT_FALSE(r2.faulty_value.defined());
    EXPECT_EQ(r2.faulty_values, full.faulty_values);
    EXPECT_EQ(r2.golden_values, full.golden_values);
    EXPECT_EQ(r2.masked, full.masked);
    EXPECT_TRUE(at::equal(r2.outputs[0].view(at::kInt), full.outputs[0].view(at::kInt)));
  }
  const at::Tensor flat = want.view(-1);
  for (size_t i = 0; i < f.elements.size(); ++i)
    EXPECT_EQ(full.faulty_values[i], flat[f.elements[i]].item<double>());
}

}  // namespace
}  // namespace fg
