// Every op against PyTorch: one small ONNX model per case (odd shapes, the attributes the
// exporters emit and those only hand-written ONNX uses), made by
// scripts/make_reference.py ops with its inputs and PyTorch's outputs.
#include <gtest/gtest.h>

#include <set>

#include "faultgraph/exec/executor.h"
#include "faultgraph/io/npy.h"
#include "faultgraph/io/onnx.h"
#include "faultgraph/ops/infer.h"
#include "test_util.h"

namespace fg {
namespace {

const char* const kCases[] = {
    "conv_basic",
    "conv_stride_pad",
    "conv_groups",
    "conv_dilation",
    "conv_1x1_nobias",
    "conv_depthwise",
    "conv1d",
    "conv_autopad_same_upper",
    "conv_autopad_same_lower",
    "conv_autopad_valid",
    "conv_asymmetric_pads",
    "batchnorm",
    "relu",
    "relu6_clip",
    "sigmoid",
    "tanh",
    "leaky_relu",
    "hardsigmoid",
    "hardswish",
    "softmax_dim1",
    "log_softmax_last",
    "dropout",
    "dropout_node",
    "identity",
    "clip_opset11",
    "softmax_opset11",
    "hardsigmoid_default",
    "add_broadcast",
    "sub_broadcast",
    "mul_broadcast",
    "div_broadcast",
    "concat_axis1",
    "split_uneven",
    "split_opset11",
    "maxpool_3s2p1",
    "maxpool_ceil",
    "maxpool_dilated",
    "avgpool_include_pad",
    "avgpool_exclude_pad",
    "avgpool_ceil",
    "avgpool_asymmetric_exclude",
    "global_avgpool",
    "reduce_mean",
    "gemm_linear",
    "gemm_trans_alpha_beta",
    "matmul_batched",
    "matmul_vector",
    "flatten",
    "reshape_shape_chain",
    "reshape_static",
    "transpose",
    "squeeze_unsqueeze",
    "squeeze_opset11",
    "pad_constant",
    "pad_reflect",
    "pad_edge",
    "slice_steps",
    "slice_chain",
    "gather_index",
    "constant_add",
    "pow_square",
    "pow_broadcast",
    "sqrt",
    "erf",
    "gelu_exact",
    "equal_where",
    "greater_less",
    "not_mask",
    "expand_static",
    "expand_dynamic",
    "mod_fmod",
    "mod_int",
    "range_dynamic",
    "range_float",
    "scatter_nd_slice",
    "scatter_nd_add",
    "scatter_nd_mul",
    "layernorm_opset17",
    "layernorm_2d_opset17",
    "layernorm_opset13",
    "layernorm_three_outputs",
    "attention_scores",
};

struct Case {
  Graph graph;
  std::vector<at::Tensor> inputs, expected;
};

Case load(const std::string& name) {
  auto dir = test::refdata("ops");
  Case c{import_onnx((dir / (name + ".onnx")).string()), {}, {}};
  for (int i = 0;; ++i) {
    auto p = dir / (name + ".in" + std::to_string(i) + ".npy");
    if (!std::filesystem::exists(p)) break;
    c.inputs.push_back(read_npy(p.string()));
  }
  for (size_t i = 0; i < c.graph.outputs().size(); ++i) {
    c.expected.push_back(read_npy((dir / (name + ".out" + std::to_string(i) + ".npy")).string()));
  }
  return c;
}

class OpCase : public testing::TestWithParam<const char*> {};

TEST_P(OpCase, MatchesPyTorch) {
  Case c = load(GetParam());
  Executor exec(c.graph);
  auto outs = exec.run(c.inputs);
  ASSERT_EQ(outs.size(), c.expected.size());
  // Inference with the concrete input shapes predicts the real output shapes.
  std::vector<TensorInfo> in_info;
  for (const auto& t : c.inputs) {
    TensorInfo ti;
    ti.dtype = DType::kFloat32;
    ti.shape = t.sizes().vec();
    ti.rank_known = true;
    in_info.push_back(ti);
  }
  auto info = infer_types(c.graph, in_info);
  for (size_t i = 0; i < outs.size(); ++i) {
    ASSERT_EQ(outs[i].sizes(), c.expected[i].sizes()) << "output " << i;
    EXPECT_LE(test::relative_error(outs[i], c.expected[i]), 1e-5) << "output " << i;
    EXPECT_EQ(info[c.graph.outputs()[i]].shape, outs[i].sizes().vec())
        << "inferred shape of output " << i;
  }
}

TEST_P(OpCase, OnnxRoundTripIsValidAndIdentical) {
  Case c = load(GetParam());
  std::string bytes = export_onnx_bytes(c.graph);
  EXPECT_NO_THROW(check_onnx_bytes(bytes, GetParam()));
  Graph again = import_onnx_bytes(bytes, GetParam());
  EXPECT_EQ(again.nodes().size(), c.graph.nodes().size());
  auto a = Executor(c.graph).run(c.inputs);
  auto b = Executor(std::move(again)).run(c.inputs);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(bitwise_equal(a[i], b[i])) << "output " << i;
}

INSTANTIATE_TEST_SUITE_P(PyTorch, OpCase, testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param); });

TEST(OpCases, CoverEveryOpButTheListedOnes) {
  std::set<OpKind> seen;
  for (const char* name : kCases) {
    Case c = load(name);
    for (const Node& n : c.graph.nodes()) seen.insert(n.op);
  }
  // Covered elsewhere: exec/executor_test.cpp builds graphs with the first two directly;
  // Fault (faultgraph's own op) is checked against PyTorch in fault/insert_faults_test.cpp.
  const std::set<OpKind> elsewhere = {OpKind::kGlobalMaxPool, OpKind::kConstantOfShape,
                                      OpKind::kFault};
  for (size_t i = 0; i < kOpKindCount; ++i) {
    auto k = static_cast<OpKind>(i);
    EXPECT_TRUE(seen.count(k) != 0 || elsewhere.count(k) != 0) << op_name(k) << " has no test case";
  }
}

}  // namespace
}  // namespace fg
