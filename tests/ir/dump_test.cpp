#include "faultgraph/ir/dump.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "faultgraph/ops/infer.h"

namespace fg {
namespace {

Graph small() {
  Graph g;
  g.name = "small";
  ValueId x = g.add_input("x", DType::kFloat32, {kUnknownDim, 6});
  ValueId w = g.add_initializer("w", at::randn({3, 6}));
  Attrs a;
  a.set("transB", int64_t{1});
  NodeId fc = g.add_node("fc", OpKind::kGemm, {x, w}, {"logits"}, a);
  NodeId sm = g.add_node("softmax", OpKind::kSoftmax, {g.node(fc).outputs[0]}, {"probs"});
  g.add_output(g.node(sm).outputs[0]);
  return with_inferred_types(g);
}

TEST(Dump, TextListsNodesWithTypes) {
  std::string text = dump_text(small());
  EXPECT_NE(text.find("fc = Gemm(x, w) {transB=1} -> logits: f32[?,3]"), std::string::npos) << text;
  EXPECT_NE(text.find("output probs: f32[?,3]"), std::string::npos) << text;
}

TEST(Dump, DotHighlightsRequestedNodes) {
  DotOptions o;
  o.highlight.insert("fc");
  std::string dot = to_dot(small(), o);
  EXPECT_EQ(dot.rfind("digraph", 0), 0U);
  EXPECT_NE(dot.find("\"n:fc\" [label=\"fc\\nGemm\", fillcolor=\"#ffcdd2\""), std::string::npos)
      << dot;
  EXPECT_NE(dot.find("\"n:fc\" -> \"n:softmax\" [label=\"f32[?,3]\"]"), std::string::npos) << dot;
  EXPECT_EQ(dot.find("\"n:softmax\" [label=\"softmax\\nSoftmax\", fillcolor"), std::string::npos);
}

}  // namespace
}  // namespace fg
