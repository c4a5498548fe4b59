// The insert-faults pass against PyTorch: the same bit flip made by a forward hook in
// python3-torch (scripts/make_reference.py faults) and by a Fault node here.
#include "faultgraph/fault/insert_faults.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "faultgraph/core/error.h"
#include "faultgraph/exec/executor.h"
#include "faultgraph/io/npy.h"
#include "faultgraph/io/onnx.h"
#include "test_util.h"

namespace fg {
namespace {

struct Branchy {
  Graph graph;
  at::Tensor input;
  std::map<std::string, std::string> sites;

  at::Tensor expected(const std::string& name) const {
    return read_npy((test::refdata("faults") / ("branchy_" + name + ".npy")).string());
  }
  FaultSpec flip(const std::string& name) const {
    FaultSpec s;
    s.kind = FaultKind::kBitFlip;
    s.bits = {std::stoi(sites.at(name + "_bit"))};
    s.selection = Selection::kCoordinates;
    s.coordinates = {std::stoll(sites.at(name + "_element"))};
    return s;
  }
};

Branchy load() {
  auto dir = test::refdata("faults");
  Branchy b{import_onnx((dir / "branchy.onnx").string()),
            read_npy((dir / "branchy_input.npy").string()),
            {}};
  std::ifstream f(dir / "branchy_sites.txt");
  std::string k, v;
  while (f >> k >> v) b.sites[k] = v;
  return b;
}

at::Tensor run(const Graph& g, const at::Tensor& x) { return Executor(g).run({x}).at(0); }

void expect_matches(const at::Tensor& got, const at::Tensor& want) {
  EXPECT_LE(test::relative_error(got, want), 1e-5);
}

TEST(InsertFaults, ActivationFaultMatchesPyTorchHook) {
  Branchy b = load();
  Graph faulty = insert_faults(
      b.graph, {{{SiteKind::kActivation, b.sites["relu1"], 0}, b.flip("activation_relu1")}});
  at::Tensor got = run(faulty, b.input), want = b.expected("activation_relu1");
  expect_matches(got, want);
  // The flip (an exponent's lowest bit of a value above 0.5) changes the output moderately:
  // the tolerance above measures every logit, not one huge one.
  at::Tensor golden = run(b.graph, b.input);
  EXPECT_FALSE(bitwise_equal(got, golden));
  EXPECT_LT(want.abs().max().item<double>(), 1e3 * golden.abs().max().item<double>());
}

TEST(InsertFaults, WeightFaultMatchesPyTorchAndLeavesTheModelAlone) {
  Branchy b = load();
  at::Tensor golden_before = run(b.graph, b.input);
  FaultSpec s = b.flip("weight_conv2a");
  Graph faulty = insert_faults(b.graph, {{{SiteKind::kWeight, b.sites["conv2a"], 1}, s}});
  expect_matches(run(faulty, b.input), b.expected("weight_conv2a"));
  // The loaded model's weights are untouched.
  EXPECT_TRUE(bitwise_equal(run(b.graph, b.input), golden_before));
}

TEST(InsertFaults, AddInputEdgeFaultMatchesPyTorchHook) {
  Branchy b = load();
  Graph faulty =
      insert_faults(b.graph, {{{SiteKind::kInputEdge, b.sites["add"], 1}, b.flip("add_edge")}});
  expect_matches(run(faulty, b.input), b.expected("add_edge"));
}

TEST(InsertFaults, GoldenMatchesPyTorch) {
  Branchy b = load();
  expect_matches(run(b.graph, b.input), b.expected("golden"));
}

TEST(InsertFaults, OriginalGraphIsUntouched) {
  Branchy b = load();
  size_t nodes = b.graph.nodes().size();
  auto inputs_before = b.graph.node(*b.graph.find_node(b.sites["add"])).inputs;
  insert_faults(b.graph, {{{SiteKind::kInputEdge, b.sites["add"], 1}, b.flip("add_edge")}});
  EXPECT_EQ(b.graph.nodes().size(), nodes);
  EXPECT_EQ(b.graph.node(*b.graph.find_node(b.sites["add"])).inputs, inputs_before);
}

TEST(InsertFaults, ZeroRateIsIdentity) {
  Branchy b = load();
  FaultSpec s;
  s.random_bit = true;
  s.probability = 0.0;
  std::vector<PlannedFault> plan;
  for (const Node& n : b.graph.nodes()) plan.push_back({{SiteKind::kActivation, n.name, 0}, s});
  Graph faulty = insert_faults(b.graph, plan);
  EXPECT_EQ(faulty.nodes().size(), 2 * b.graph.nodes().size());
  EXPECT_EQ(fault_node_names(faulty).size(), b.graph.nodes().size());
  EXPECT_TRUE(bitwise_equal(run(faulty, b.input), run(b.graph, b.input)));
}

TEST(InsertFaults, FaultAfterAFanOutChangesEveryBranch) {
  Branchy b = load();
  Graph faulty = insert_faults(
      b.graph, {{{SiteKind::kActivation, b.sites["relu1"], 0}, b.flip("activation_relu1")}});
  Executor gold(b.graph), bad(faulty);
  GoldenCache g = gold.run_cached({b.input});
  GoldenCache f = bad.run_cached({b.input});
  // relu1 feeds conv2a, conv2b and the Concat: all three see the fault.
  EXPECT_FALSE(bitwise_equal(g.at(b.sites["conv2a"]), f.at(b.sites["conv2a"])));
  EXPECT_FALSE(bitwise_equal(g.at("/conv2b/Conv"), f.at("/conv2b/Conv")));
  EXPECT_FALSE(bitwise_equal(g.at("/Concat"), f.at("/Concat")));
}

TEST(InsertFaults, InputEdgeFaultChangesOnlyThatPath) {
  Branchy b = load();
  Graph faulty =
      insert_faults(b.graph, {{{SiteKind::kInputEdge, b.sites["add"], 1}, b.flip("add_edge")}});
  Executor gold(b.graph), bad(faulty);
  GoldenCache g = gold.run_cached({b.input});
  GoldenCache f = bad.run_cached({b.input});
  EXPECT_TRUE(bitwise_equal(g.at("/conv2b/Conv"), f.at("/conv2b/Conv")));   // the value itself
  EXPECT_FALSE(bitwise_equal(g.at(b.sites["add"]), f.at(b.sites["add"])));  // the Add path
  // The Concat reads conv2b directly (golden) and relu2 (faulty): only relu2's slice differs.
  at::Tensor gc = g.at("/Concat"), fc = f.at("/Concat");
  EXPECT_TRUE(bitwise_equal(gc.slice(1, 8, 24), fc.slice(1, 8, 24)));
}

// A fault on output 1 of a node with two outputs (Split) reaches only output 1's
// consumers, at the element and with the value asked for.
TEST(InsertFaults, ActivationFaultOnASecondOutput) {
  Graph g;
  ValueId x = g.add_input("x", DType::kFloat32, {1, 4, 3, 3});
  Attrs axis;
  axis.set("axis", int64_t{1});
  NodeId split = g.add_node("split", OpKind::kSplit, {x}, {"a", "b"}, axis);
  NodeId ra = g.add_node("relu_a", OpKind::kRelu, {g.node(split).outputs[0]}, {"ra"});
  NodeId rb = g.add_node("relu_b", OpKind::kRelu, {g.node(split).outputs[1]}, {"rb"});
  g.add_output(g.node(ra).outputs[0]);
  g.add_output(g.node(rb).outputs[0]);
  FaultSpec s;
  s.kind = FaultKind::kSetValue;
  s.value = 7.5;
  s.selection = Selection::kCoordinates;
  s.coordinates = {13};  // channel 1 of b (its channel 3 of x), row 1, column 1
  Graph faulty = insert_faults(g, {{{SiteKind::kActivation, "split", 1}, s}});
  at::Tensor in = -at::rand({1, 4, 3, 3}) - 0.5;  // every golden output is 0 after ReLU
  std::vector<at::Tensor> gold = Executor(g).run({in}), bad = Executor(faulty).run({in});
  EXPECT_TRUE(bitwise_equal(gold[0], bad[0]));  // output 0's consumer: untouched
  at::Tensor want = gold[1].clone();
  want.view(-1)[13] = 7.5;
  EXPECT_TRUE(bitwise_equal(bad[1], want));
  EXPECT_FALSE(bitwise_equal(bad[1], gold[1]));
}

// A bias fault equals running the model with that bias element's bit flipped by hand.
TEST(InsertFaults, BiasFaultEqualsTheModelWithTheBitFlippedByHand) {
  Branchy b = load();
  const Node& conv = b.graph.node_named(b.sites["conv2a"]);
  ASSERT_GE(conv.inputs.size(), 3u) << "conv2a has no bias";
  FaultSpec s;
  s.bits = {27};
  s.selection = Selection::kCoordinates;
  s.coordinates = {2};
  Graph faulty = insert_faults(b.graph, {{{SiteKind::kBias, b.sites["conv2a"], 0}, s}});

  Graph by_hand = b.graph;
  Value& bias = by_hand.value(conv.inputs[2]);
  at::Tensor flipped = bias.data->clone();
  flipped.view(at::kInt).view(-1)[2].bitwise_xor_(1 << 27);
  bias.data = flipped;
  at::Tensor want = run(by_hand, b.input), got = run(faulty, b.input);
  EXPECT_TRUE(bitwise_equal(got, want));
  EXPECT_FALSE(bitwise_equal(got, run(b.graph, b.input)));  // the flip reaches the output
}

TEST(InsertFaults, ModelInputFaultAndRerunAgree) {
  Branchy b = load();
  FaultSpec s;
  s.bits = {30};
  s.selection = Selection::kCount;
  s.count = 3;
  s.per_sample = true;
  Graph faulty = insert_faults(b.graph, {{{SiteKind::kModelInput, "input", 0}, s}});
  at::Tensor full = run(faulty, b.input);
  // The same corruption through the golden cache and partial recompute.
  Executor gold(b.graph);
  GoldenCache cache = gold.run_cached({b.input});
  at::Tensor corrupted = apply_fault(b.input, s, true).output;
  at::Tensor again = gold.rerun(cache, {{b.graph.runtime_inputs()[0], corrupted}}).at(0);
  EXPECT_TRUE(bitwise_equal(full, again));
  EXPECT_FALSE(bitwise_equal(full, cache.outputs()[0]));
}

TEST(InsertFaults, UnknownSitesAreClearErrors) {
  Branchy b = load();
  FaultSpec s;
  s.bits = {1};
  try {
    insert_faults(b.graph, {{{SiteKind::kActivation, "/relu1/Relux", 0}, s}});
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean '/relu1/Relu'"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(insert_faults(b.graph, {{{SiteKind::kWeight, b.sites["relu1"], 1}, s}}), UsageError);
  EXPECT_THROW(insert_faults(b.graph, {{{SiteKind::kModelInput, "x", 0}, s}}), UsageError);
  s.bits = {32};
  EXPECT_THROW(insert_faults(b.graph, {{{SiteKind::kActivation, b.sites["relu1"], 0}, s}}),
               ConfigError);
}

TEST(InsertFaults, FaultyModelSavesAsOnnxAndReopens) {
  Branchy b = load();
  Graph faulty = insert_faults(
      b.graph, {{{SiteKind::kActivation, b.sites["relu1"], 0}, b.flip("activation_relu1")}});
  std::string bytes = export_onnx_bytes(faulty);
  EXPECT_NO_THROW(check_onnx_bytes(bytes, "faulty"));
  Graph again = import_onnx_bytes(bytes, "faulty");
  EXPECT_TRUE(bitwise_equal(run(again, b.input), run(faulty, b.input)));
}

}  // namespace
}  // namespace fg

namespace fg {
namespace {
// Attention: a bit flip in the scores (before the softmax), in the attention weights
// (after it) and in the Q projection of a small pre-norm encoder layer (opset 17, with
// LayerNormalization and exact GELU) equals the same flip made by a PyTorch forward hook on
// the module that computes that tensor (scripts/make_reference.py faults).
TEST(InsertFaults, AttentionFaultsMatchPyTorchHooks) {
  auto dir = test::refdata("faults");
  Graph g = import_onnx((dir / "attention.onnx").string());
  at::Tensor x = read_npy((dir / "attention_input.npy").string());
  std::map<std::string, std::string> sites;
  std::ifstream f(dir / "attention_sites.txt");
  std::string k, v;
  while (f >> k >> v) sites[k] = v;
  at::Tensor golden = Executor(g).run({x}).at(0);
  at::Tensor torch_golden = read_npy((dir / "attention_golden.npy").string());
  EXPECT_LE(test::relative_error(golden, torch_golden), 1e-5);
  for (const char* name : {"scores", "softmax", "q"}) {
    SCOPED_TRACE(name);
    FaultSpec s;
    s.kind = FaultKind::kBitFlip;
    s.bits = {std::stoi(sites.at(std::string(name) + "_bit"))};
    s.selection = Selection::kCoordinates;
    s.coordinates = {std::stoll(sites.at(std::string(name) + "_element"))};
    Graph faulty = insert_faults(g, {{{SiteKind::kActivation, sites.at(name), 0}, s}});
    at::Tensor got = Executor(faulty).run({x}).at(0);
    at::Tensor want = read_npy((dir / ("attention_" + std::string(name) + ".npy")).string());
    EXPECT_FALSE(bitwise_equal(want, torch_golden));  // the flip changes PyTorch's output
    EXPECT_LE(test::relative_error(got, want), 1e-5);
    // The fault's effect (faulty - golden) is PyTorch's, not just both close to the golden.
    EXPECT_LE(test::relative_error(got - golden, want - golden), 1e-3);
  }
}
}  // namespace
}  // namespace fg
