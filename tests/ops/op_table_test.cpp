#include <gtest/gtest.h>

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
