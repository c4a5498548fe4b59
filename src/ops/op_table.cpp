// The op table: one OpDef per OpKind, in ops.def order. Each op's definition lives in its
// own file (src/ops/conv.cpp defines kConv, ...); nothing registers itself.
#include <iterator>

#include "faultgraph/core/error.h"
#include "faultgraph/ops/op.h"

namespace fg {
namespace ops {
#define FG_OP(kind, name) extern const OpDef k##kind;
#include "faultgraph/ir/ops.def"
#undef FG_OP
}  // namespace ops

namespace {
const OpDef* const kOps[] = {
#define FG_OP(kind, name) &ops::k##kind,
#include "faultgraph/ir/ops.def"
#undef FG_OP
};
static_assert(std::size(kOps) == kOpKindCount, "every OpKind needs exactly one OpDef");
}  // namespace

const OpDef& op_def(OpKind op) {
  auto i = static_cast<size_t>(op);
  FG_ASSERT(i < kOpKindCount, "op kind ", i);
  const OpDef& d = *kOps[i];
  FG_ASSERT(d.kind == op, "op table entry ", i, " is ", d.name);
  return d;
}

}  // namespace fg
