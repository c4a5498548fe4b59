#include "faultgraph/ir/graph.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "faultgraph/core/error.h"
#include "faultgraph/ir/topo.h"
#include "faultgraph/ops/infer.h"

namespace fg {
namespace {

// x -> conv1 -> relu1 -+-> add -> out
//                      +-> relu2 -^
Graph branchy() {
  Graph g;
  ValueId x = g.add_input("x", DType::kFloat32, {kUnknownDim, 3, 8, 8});
  ValueId w = g.add_initializer("w", at::randn({4, 3, 3, 3}));
  Attrs a;
  a.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  NodeId c = g.add_node("conv1", OpKind::kConv, {x, w}, {"c"}, a);
  NodeId r1 = g.add_node("relu1", OpKind::kRelu, {g.node(c).outputs[0]}, {"r1"});
  NodeId r2 = g.add_node("relu2", OpKind::kRelu, {g.node(r1).outputs[0]}, {"r2"});
  NodeId add =
      g.add_node("add", OpKind::kAdd, {g.node(r1).outputs[0], g.node(r2).outputs[0]}, {"y"});
  g.add_output(g.node(add).outputs[0]);
  return g;
}

TEST(Graph, NamesAndConsumers) {
  Graph g = branchy();
  ASSERT_TRUE(g.find_node("relu1"));
  EXPECT_EQ(g.node(*g.find_node("relu1")).op, OpKind::kRelu);
  auto consumers = g.consumers();
  ValueId r1 = *g.find_value("r1");
  EXPECT_EQ(consumers[r1].size(), 2U);
  EXPECT_EQ(g.runtime_inputs().size(), 1U);
}

TEST(Graph, DuplicateValueNameIsAnError) {
  Graph g;
  g.add_input("x", DType::kFloat32, {1});
  EXPECT_THROW(g.add_input("x", DType::kFloat32, {1}), ModelFormatError);
}

TEST(Graph, DuplicateNodeNamesGetASuffix) {
  Graph g;
  ValueId x = g.add_input("x", DType::kFloat32, {1});
  g.add_node("n", OpKind::kRelu, {x}, {"a"});
  NodeId second = g.add_node("n", OpKind::kRelu, {x}, {"b"});
  EXPECT_EQ(g.node(second).name, "n_1");
}

TEST(Graph, UnknownNodeNameSuggestsClosest) {
  Graph g = branchy();
  try {
    g.node_named("relu3");
    FAIL() << "expected UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'relu1', 'relu2'"), std::string::npos)
        << e.what();
  }
}

TEST(Topo, OrdersProducersFirstAndKeepsSortedOrder) {
  Graph g = branchy();
  auto order = topological_order(g);
  ASSERT_EQ(order.size(), 4U);
  EXPECT_EQ(order, (std::vector<NodeId>{0, 1, 2, 3}));
}

TEST(Topo, DetectsCycle) {
  Graph g;
  ValueId x = g.add_input("x", DType::kFloat32, {1});
  NodeId a = g.add_node("a", OpKind::kAdd, {x, x}, {"va"});
  NodeId b = g.add_node("b", OpKind::kRelu, {g.node(a).outputs[0]}, {"vb"});
  g.node(a).inputs[1] = g.node(b).outputs[0];  // a reads b, b reads a
  g.add_output(g.node(b).outputs[0]);
  EXPECT_THROW(topological_order(g), ModelFormatError);
}

TEST(Verify, InfersShapesWithSymbolicBatch) {
  Graph g = with_inferred_types(branchy());
  const Value& y = g.value(*g.find_value("y"));
  EXPECT_EQ(y.shape, (Shape{kUnknownDim, 4, 8, 8}));
  EXPECT_EQ(y.dtype, DType::kFloat32);
}

TEST(Verify, ShapeMismatchNamesTheNode) {
  Graph g;
  ValueId x = g.add_input("x", DType::kFloat32, {1, 3, 8, 8});
  ValueId w = g.add_initializer("w", at::randn({4, 5, 3, 3}));  // expects 5 channels
  NodeId c = g.add_node("stem", OpKind::kConv, {x, w}, {"c"});
  g.add_output(g.node(c).outputs[0]);
  try {
    verify(g);
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("node 'stem' (Conv)"), std::string::npos) << e.what();
  }
}

TEST(Verify, ArityIsChecked) {
  Graph g;
  ValueId x = g.add_input("x", DType::kFloat32, {2});
  NodeId n = g.add_node("bad_add", OpKind::kAdd, {x}, {"y"});
  g.add_output(g.node(n).outputs[0]);
  EXPECT_THROW(verify(g), ModelFormatError);
}

TEST(ClosestNames, RanksByEditDistance) {
  auto near = closest_names("conv2d_7", {"conv2d_1", "dense_1", "conv2d_6", "flatten_1"}, 2);
  ASSERT_EQ(near.size(), 2U);
  EXPECT_EQ(near[0], "conv2d_1");
}

TEST(Graph, SampleMismatchNamesTheInputAndItsShape) {
  Graph g;
  g.add_input("img", DType::kFloat32, {kUnknownDim, 3, 224, 224});
  EXPECT_FALSE(sample_mismatch(g, {3, 224, 224}));
  std::optional<SampleMismatch> m = sample_mismatch(g, {1, 28, 28});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->is, "1 x 28 x 28");
  EXPECT_EQ(m->takes, "input 'img' takes 3 x 224 x 224");
  EXPECT_EQ(m->channels, 3);
  EXPECT_EQ(m->size, 224);
  EXPECT_TRUE(sample_mismatch(g, {3, 224}));  // another rank
  Graph dynamic;
  dynamic.add_input("x", DType::kFloat32, {kUnknownDim, 1, kUnknownDim, kUnknownDim});
  EXPECT_FALSE(sample_mismatch(dynamic, {1, 28, 28}));
  m = sample_mismatch(dynamic, {3, 28, 28});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->takes, "input 'x' takes 1 x ? x ?");
  EXPECT_EQ(m->size, -1);  // not declared: no size to suggest
}

}  // namespace
}  // namespace fg
