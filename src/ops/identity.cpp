// Identity: passes its input through (no copy).
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace identity_op {
Kernel prepare(const OpContext&) {
  return [](KernelArgs& a) { a.out[0] = a.in[0]; };
}
}  // namespace identity_op
}  // namespace

extern const OpDef kIdentity{OpKind::kIdentity, "Identity",           1,       1,   1, 1,
                             same_as_input,     identity_op::prepare, nullptr, true};
}  // namespace fg::ops
