// Fault: a fault injection node (faultgraph's own op, ONNX domain "ai.faultgraph"). Its
// output is a corrupted copy of its input, as described by its attributes (a FaultSpec,
// include/faultgraph/fault/fault_model.h). Inserted by insert_faults(); on a weight edge
// it has only constant inputs and runs once per plan.
#include "faultgraph/fault/fault_model.h"
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace fault_op {
std::vector<TensorInfo> infer(const OpContext& ctx) {
  spec_from_attrs(ctx.attrs(), ctx.where());
  FG_CHECK(ctx.in[0].dtype == DType::kUndefined || is_floating(ctx.in[0].dtype), ShapeError,
           ctx.where(), ": faults apply to floating-point values, not ",
           dtype_name(ctx.in[0].dtype));
  return same_as_input(ctx);
}

Kernel prepare(const OpContext& ctx) {
  FaultSpec spec = spec_from_attrs(ctx.attrs(), ctx.where());
  bool batched = ctx.attrs().get_int("batched", 1) != 0;
  return [spec, batched](KernelArgs& a) {
    a.out[0] = apply_fault(a.in[0], spec, batched, a.first_sample).output;
  };
}
}  // namespace fault_op
}  // namespace

extern const OpDef kFault{OpKind::kFault,  "Fault",           1,       1,    1, 1,
                          fault_op::infer, fault_op::prepare, nullptr, false};
}  // namespace fg::ops
