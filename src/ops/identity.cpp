// Identity: passes its input through (no copy).
#include "ops/common.h"

namespace fg::ops {
namespace {
Kernel prepare(const OpContext&) {
  return [](KernelArgs& a) { a.out[0] = a.in[0]; };
}
}  // namespace

extern const OpDef kIdentity{OpKind::kIdentity, "Identity", 1,       1,   1, 1,
                             same_as_input,     prepare,    nullptr, true};
}  // namespace fg::ops
