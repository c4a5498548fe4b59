// Less: a < b elementwise with broadcasting; a bool tensor.
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace less_op {
Kernel prepare(const OpContext&) {
  return [](KernelArgs& a) { a.out[0] = at::lt(a.in[0], a.in[1]); };
}
}  // namespace less_op
}  // namespace

extern const OpDef kLess{OpKind::kLess,
                         "Less",
                         2,
                         2,
                         1,
                         1,
                         compare_infer,
                         less_op::prepare,
                         nullptr,
                         false,
                         elementwise_region_of<less_op::prepare>};
}  // namespace fg::ops
