// Sub: elementwise with numpy-style broadcasting.
#include "ops/common.h"

namespace fg::ops {
namespace {
Kernel prepare(const OpContext&) {
  return binary_kernel([](const at::Tensor& a, const at::Tensor& b) { return at::sub(a, b); },
                       [](at::Tensor& a, const at::Tensor& b) -> at::Tensor& { return a.sub_(b); });
}
}  // namespace

extern const OpDef kSub{OpKind::kSub,
                        "Sub",
                        2,
                        2,
                        1,
                        1,
                        broadcast_infer,
                        prepare,
                        nullptr,
                        false,
                        elementwise_region_of<prepare>};
}  // namespace fg::ops
