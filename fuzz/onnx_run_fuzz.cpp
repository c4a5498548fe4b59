// The ONNX importer and then the executor on arbitrary bytes: a model that imports is run
// once on small inputs of its declared shapes (a symbolic dim is 1). Bad input must end in
// a faultgraph Error; a crash, a sanitizer report, an allocation past libFuzzer's limit or
// an escaped exception from a kernel is a bug. Sizes a model chooses are capped at 64 MiB
// per tensor (set_tensor_memory_limit), and models whose FLOPs at those inputs are not
// known before running (shapes computed at run time) or exceed 5e7 are imported but not
// run, so that a slow input means a slow kernel, not a big model.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "faultgraph/core/sizes.h"
#include "faultgraph/exec/executor.h"
#include "faultgraph/io/onnx.h"
#include "faultgraph/ops/infer.h"
#include "faultgraph/ops/op.h"
#include "fuzz_util.h"

namespace {

constexpr int64_t kMaxInputElements = 4096;
constexpr double kMaxFlops = 5e7;

// Small deterministic inputs of the declared shapes (a symbolic dim is 1); nullopt when
// one is too large or of an unknown rank or type.
std::optional<std::vector<at::Tensor>> inputs_for(const fg::Graph& g) {
  std::vector<at::Tensor> out;
  for (fg::ValueId id : g.runtime_inputs()) {
    const fg::Value& v = g.value(id);
    if (!v.rank_known || v.dtype == fg::DType::kUndefined) return std::nullopt;
    std::vector<int64_t> dims;
    int64_t numel = 1;
    for (int64_t d : v.shape) {
      dims.push_back(d < 0 ? 1 : d);
      numel *= dims.back();
      if (numel > kMaxInputElements) return std::nullopt;
    }
    at::ScalarType type = fg::to_scalar_type(v.dtype);
    at::Tensor t = at::arange(numel, at::kDouble).remainder(7.0).sub(3.0).mul(0.5);
    out.push_back(t.to(type).reshape(dims));
  }
  return out;
}

// The FLOPs of one forward at these inputs' shapes (inferred as the executor will);
// nullopt when a node's are unknown (shapes only known at run time).
std::optional<double> forward_flops(const fg::Graph& g, const std::vector<at::Tensor>& inputs) {
  std::vector<fg::TensorInfo> given;
  for (const at::Tensor& t : inputs) {
    fg::TensorInfo i;
    i.dtype = fg::from_scalar_type(t.scalar_type());
    i.shape = t.sizes().vec();
    i.rank_known = true;
    given.push_back(i);
  }
  std::vector<fg::TensorInfo> info = fg::infer_types(g, given);
  double total = 0;
  for (const fg::Node& n : g.nodes()) {
    const fg::OpDef& d = fg::op_def(n.op);
    std::vector<fg::TensorInfo> ins(n.inputs.size()), outs;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (n.inputs[i] != fg::kNoValue) ins[i] = info[n.inputs[i]];
    }
    for (fg::ValueId o : n.outputs) outs.push_back(info[o]);
    for (const fg::TensorInfo& t : ins) {
      if (t.dtype != fg::DType::kUndefined && t.numel() < 0) return std::nullopt;
    }
    for (const fg::TensorInfo& t : outs) {
      if (t.numel() < 0) return std::nullopt;
    }
    if (d.moves_data) continue;
    fg::OpContext ctx{n, ins, g.opset, false};
    int64_t f = d.flops ? d.flops(ctx, outs) : (outs.empty() ? 0 : outs[0].numel());
    if (f < 0) return std::nullopt;
    total += static_cast<double>(f);
  }
  return total;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool once = [] {
    fg::set_tensor_memory_limit(int64_t{64} << 20);
    at::set_num_threads(1);
    return true;
  }();
  (void)once;
  return fg::fuzz::expect_clean([&] {
    fg::Graph g =
        fg::import_onnx_bytes(std::string(reinterpret_cast<const char*>(data), size), "fuzz.onnx");
    std::optional<std::vector<at::Tensor>> inputs = inputs_for(g);
    if (!inputs) return;
    std::optional<double> flops = forward_flops(g, *inputs);
    if (!flops || *flops > kMaxFlops) return;
    fg::Executor exec(std::move(g));
    (void)exec.run(*inputs);
  });
}
