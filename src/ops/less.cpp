// Less: a < b elementwise with broadcasting; a bool tensor.
#include "ops/common.h"

namespace fg::ops {
namespace {
Kernel prepare(const OpContext&) {
  return [](KernelArgs& a) { a.out[0] = at::lt(a.in[0], a.in[1]); };
}
}  // namespace

extern const OpDef kLess{OpKind::kLess,
                         "Less",
                         2,
                         2,
                         1,
                         1,
                         compare_infer,
                         prepare,
                         nullptr,
                         false,
                         elementwise_region_of<prepare>};
}  // namespace fg::ops
