#include <gtest/gtest.h>

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
