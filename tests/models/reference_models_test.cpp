// torchvision's ResNet-50, MobileNetV2 and InceptionV3 (random init, calibrated
// BatchNorm, eval mode) exported to ONNX by scripts/make_reference.py, with BatchNorm kept
// and folded, and the BatchNorm-free ViT-B/16 and ConvNeXt-T exported at opset 13
// (LayerNorm decomposed) and 17 (LayerNormalization): faultgraph's outputs must match
// PyTorch's within 1e-4 x max |output| at batch 1 and 4, and the ONNX round trip must
// pass onnx.checker and give the same outputs.
#include <gtest/gtest.h>

#include <fstream>
#include <tuple>

#include "faultgraph/exec/executor.h"
#include "faultgraph/io/npy.h"
#include "faultgraph/io/onnx.h"
#include "faultgraph/ops/infer.h"
#include "test_util.h"

namespace fg {
namespace {

using Param = std::tuple<const char*, const char*>;  // model, variant

std::string model_path(const Param& p) {
  return (test::refdata("models") / (std::string(std::get<0>(p)) + "_" + std::get<1>(p) + ".onnx"))
      .string();
}

at::Tensor data(const Param& p, const char* kind, const char* batch) {
  return read_npy(
      (test::refdata("models") / (std::string(std::get<0>(p)) + "_" + kind + "_" + batch + ".npy"))
          .string());
}

class ReferenceModel : public testing::TestWithParam<Param> {};

TEST_P(ReferenceModel, MatchesPyTorchAtBatch1And4) {
  Executor exec(import_onnx(model_path(GetParam())));
  for (const char* batch : {"b1", "b4"}) {
    auto out = exec.run({data(GetParam(), "input", batch)});
    at::Tensor ref = data(GetParam(), "output", batch);
    ASSERT_EQ(out.at(0).sizes(), ref.sizes()) << batch;
    double err = test::relative_error(out[0], ref);
    EXPECT_LE(err, 1e-4) << batch;
    RecordProperty(std::string("relative_error_") + batch, std::to_string(err));
    // Same top-1 class for every sample.
    EXPECT_TRUE(at::equal(out[0].argmax(1), ref.argmax(1))) << batch;
  }
}

TEST_P(ReferenceModel, OnnxRoundTripPassesCheckerAndGivesSameOutputs) {
  Graph g = import_onnx(model_path(GetParam()));
  auto path = test::temp_path(std::string(std::get<0>(GetParam())) + "_" + std::get<1>(GetParam()) +
                              "_rt.onnx");
  export_onnx(g, path.string());
  EXPECT_TRUE(test::onnx_checker_accepts(path)) << "onnx.checker rejected " << path;
  at::Tensor x = data(GetParam(), "input", "b1");
  auto a = Executor(std::move(g)).run({x});
  auto b = Executor(import_onnx(path.string())).run({x});
  EXPECT_TRUE(bitwise_equal(a[0], b[0]));
  std::filesystem::remove(path);
}

INSTANTIATE_TEST_SUITE_P(Torchvision, ReferenceModel,
                         testing::Combine(testing::Values("resnet50", "mobilenet_v2",
                                                          "inception_v3"),
                                          testing::Values("bn", "folded")),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param)) + "_" +
                                  std::get<1>(info.param);
                         });
INSTANTIATE_TEST_SUITE_P(Transformers, ReferenceModel,
                         testing::Combine(testing::Values("vit_b_16", "convnext_tiny"),
                                          testing::Values("opset13", "opset17")),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param)) + "_" +
                                  std::get<1>(info.param);
                         });

// With BatchNorm kept, the learned parameters are exactly PyTorch's parameters().
class ReferenceModelParameters : public testing::TestWithParam<Param> {};

TEST_P(ReferenceModelParameters, CountMatchesPyTorch) {
  Graph g = import_onnx(model_path(GetParam()));
  int64_t count = 0;
  for (const Node& n : g.nodes()) count += parameter_count(g, n);
  std::ifstream f(test::refdata("models") /
                  (std::string(std::get<0>(GetParam())) + "_parameters.txt"));
  int64_t expected = -1;
  f >> expected;
  EXPECT_EQ(count, expected);
}

INSTANTIATE_TEST_SUITE_P(Torchvision, ReferenceModelParameters,
                         testing::Values(Param{"resnet50", "bn"}, Param{"mobilenet_v2", "bn"},
                                         Param{"inception_v3", "bn"}, Param{"vit_b_16", "opset17"},
                                         Param{"convnext_tiny", "opset17"}),
                         [](const auto& info) { return std::string(std::get<0>(info.param)); });

}  // namespace
}  // namespace fg
