// Equal: a == b elementwise with broadcasting; a bool tensor.
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace equal_op {
Kernel prepare(const OpContext&) {
  return [](KernelArgs& a) { a.out[0] = at::eq(a.in[0], a.in[1]); };
}
}  // namespace equal_op
}  // namespace

extern const OpDef kEqual{OpKind::kEqual,
                          "Equal",
                          2,
                          2,
                          1,
                          1,
                          compare_infer,
                          equal_op::prepare,
                          nullptr,
                          false,
                          elementwise_region_of<equal_op::prepare>};
}  // namespace fg::ops
