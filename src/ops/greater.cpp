// Greater: a > b elementwise with broadcasting; a bool tensor.
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace greater_op {
Kernel prepare(const OpContext&) {
  return [](KernelArgs& a) { a.out[0] = at::gt(a.in[0], a.in[1]); };
}
}  // namespace greater_op
}  // namespace

extern const OpDef kGreater{OpKind::kGreater,
                            "Greater",
                            2,
                            2,
                            1,
                            1,
                            compare_infer,
                            greater_op::prepare,
                            nullptr,
                            false,
                            elementwise_region_of<greater_op::prepare>};
}  // namespace fg::ops
