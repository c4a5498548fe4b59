// The built-in architectures. At full size, resnet50, mobilenet_v2 and inception_v3 must be
// torchvision's networks: the same parameter names and shapes, the same parameter count,
// and, with torchvision's weights loaded by name, PyTorch's outputs on the reference input
// (within 1e-4 x max |output|). Every model and input variant runs, exports to ONNX that
// onnx.checker accepts, and re-imports to bit-identical outputs.
#include "faultgraph/models/zoo.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <tuple>

#include "faultgraph/core/error.h"
#include "faultgraph/exec/executor.h"
#include "faultgraph/io/npy.h"
#include "faultgraph/io/onnx.h"
#include "faultgraph/ops/infer.h"
#include "test_util.h"

namespace fg {
namespace {

int64_t parameters(const Graph& g) {
  int64_t count = 0;
  for (const Node& n : g.nodes()) count += parameter_count(g, n);
  return count;
}

std::map<std::string, ValueId> float_initializers(const Graph& g) {
  std::map<std::string, ValueId> out;
  for (const Value& v : g.values()) {
    if (v.is_initializer() && v.dtype == DType::kFloat32) out[v.name] = v.id;
  }
  return out;
}

class TorchvisionModel : public testing::TestWithParam<const char*> {};

TEST_P(TorchvisionModel, IsTorchvisionsNetworkLayerForLayer) {
  std::string name = GetParam();
  auto dir = test::refdata("models");
  Graph ours = build_model(name);
  Graph theirs = import_onnx((dir / (name + "_bn.onnx")).string());

  std::ifstream f(dir / (name + "_parameters.txt"));
  int64_t expected = -1;
  f >> expected;
  EXPECT_EQ(parameters(ours), expected);

  // Same state_dict keys and shapes; load torchvision's tensors by name.
  auto mine = float_initializers(ours);
  auto ref = float_initializers(theirs);
  EXPECT_EQ(mine.size(), ref.size());
  for (const auto& [key, id] : ref) {
    auto it = mine.find(key);
    ASSERT_NE(it, mine.end()) << "missing parameter " << key;
    const at::Tensor& t = *theirs.value(id).data;
    ASSERT_EQ(ours.value(it->second).data->sizes(), t.sizes()) << key;
    ours.value(it->second).data = t;
  }
  at::Tensor x = read_npy((dir / (name + "_input_b1.npy")).string());
  at::Tensor y = read_npy((dir / (name + "_output_b1.npy")).string());
  at::Tensor out = Executor(ours).run({x}).at(0);
  ASSERT_EQ(out.sizes(), y.sizes());
  EXPECT_LE(test::relative_error(out, y), 1e-4);
  EXPECT_TRUE(at::equal(out.argmax(1), y.argmax(1)));
}

INSTANTIATE_TEST_SUITE_P(Zoo, TorchvisionModel,
                         testing::Values("resnet50", "mobilenet_v2", "inception_v3"),
                         [](const auto& info) { return std::string(info.param); });

using Variant = std::tuple<const char*, int64_t, int64_t>;  // model, channels, size (0: full)

class ZooVariant : public testing::TestWithParam<Variant> {};

TEST_P(ZooVariant, RunsAndRoundTripsThroughOnnx) {
  auto [name, channels, size] = GetParam();
  ModelOptions o;
  o.channels = channels;
  o.height = o.width = size;
  o.classes = 10;
  o.seed = 7;
  Graph g = build_model(name, o);
  verify(g);
  int64_t side = size ? size : g.value(g.runtime_inputs().at(0)).shape[2];
  at::Tensor x = at::rand({2, channels, side, side});
  auto a = Executor(g).run({x});
  ASSERT_EQ(a.at(0).sizes(), (std::vector<int64_t>{2, 10}));
  EXPECT_TRUE(a[0].isfinite().all().item<bool>());

  auto path = test::temp_path(std::string(name) + "_" + std::to_string(channels) + "x" +
                              std::to_string(size) + ".onnx");
  export_onnx(g, path.string());
  EXPECT_TRUE(test::onnx_checker_accepts(path)) << "onnx.checker rejected " << path;
  Graph back = import_onnx(path.string());
  EXPECT_EQ(parameters(back), parameters(g));
  auto b = Executor(back).run({x});
  EXPECT_TRUE(bitwise_equal(a[0], b.at(0)));
  std::filesystem::remove(path);
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooVariant,
                         testing::Combine(testing::Values("seed_inception", "resnet20", "resnet50",
                                                          "mobilenet_v2", "inception_v3", "vit"),
                                          testing::Values(int64_t{1}, int64_t{3}),
                                          testing::Values(int64_t{28}, int64_t{32})),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param)) + "_" +
                                  std::to_string(std::get<1>(info.param)) + "x" +
                                  std::to_string(std::get<2>(info.param));
                         });

INSTANTIATE_TEST_SUITE_P(FullSize, ZooVariant,
                         testing::Values(Variant{"resnet20", 3, 0}, Variant{"resnet50", 3, 0},
                                         Variant{"mobilenet_v2", 3, 0},
                                         Variant{"inception_v3", 3, 0}, Variant{"vit", 3, 224}),
                         [](const auto& info) { return std::string(std::get<0>(info.param)); });

TEST(Zoo, ResNet20HasThePapersParameterCount) {
  // He et al. 2016, Table 6: 0.27 M. Option A shortcuts have no parameters:
  // stem 432 + 32, stage 1 3 x (2 x 2304 + 64), stage 2 13952 + 2 x 18560,
  // stage 3 55552 + 2 x 73984, fc 650.
  Graph g = build_model("resnet20");
  EXPECT_EQ(parameters(g), 269722);
}

TEST(Zoo, SmallVariantsKeepTheImageLargeThroughTheStem) {
  ModelOptions o;
  o.channels = 3;
  o.height = o.width = 32;
  for (const char* name : {"resnet50", "mobilenet_v2", "inception_v3"}) {
    Graph g = build_model(name, o);
    auto info = infer_types(g);
    // The last feature map before global pooling is still at least 4x4 (7x7 for Inception).
    ValueId pooled = g.node_named("avgpool").inputs[0];
    EXPECT_GE(info.at(static_cast<size_t>(pooled)).shape.at(2), 4) << name;
  }
}

TEST(Zoo, WidthMultiplierScalesChannels) {
  ModelOptions half;
  half.width_multiplier = 0.5;
  EXPECT_LT(parameters(build_model("resnet20", half)) * 3, parameters(build_model("resnet20")));
  EXPECT_LT(parameters(build_model("mobilenet_v2", half)), parameters(build_model("mobilenet_v2")));
}

TEST(Zoo, SeedInceptionKeepsTheSeedsLayerNames) {
  Graph g = build_model("seed_inception");
  for (const char* layer : {"conv2d_1", "conv2d_2", "conv2d_3", "conv2d_4", "conv2d_5", "conv2d_6",
                            "pool_1", "concatenate", "flatten_1", "dense_1", "softmax_1"}) {
    EXPECT_TRUE(g.find_node(layer).has_value()) << layer;
  }
  EXPECT_EQ(g.value(g.runtime_inputs().at(0)).name, "input_3");
}

TEST(Zoo, BadNamesAndInputsAreClearErrors) {
  try {
    build_model("resnet5O");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'resnet50'"), std::string::npos) << e.what();
  }
  // A name near no built-in one: the list alone (was an internal error: an empty suggestion
  // list indexed).
  try {
    build_model("nosuchmodel");
    FAIL();
  } catch (const UsageError& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.find("did you mean"), std::string::npos) << m;
    EXPECT_NE(m.find("unknown model 'nosuchmodel' (built-in: seed_inception, resnet20"),
              std::string::npos)
        << m;
  }
  ModelOptions tiny;
  tiny.height = tiny.width = 8;
  EXPECT_THROW(build_model("inception_v3", tiny), UsageError);
  ModelOptions zero;
  zero.width_multiplier = 0;
  EXPECT_THROW(build_model("resnet20", zero), UsageError);
  EXPECT_EQ(builtin_models().size(), 6U);
  ModelOptions odd;
  odd.height = odd.width = 30;  // not a multiple of vit's 4x4 patches
  EXPECT_THROW(build_model("vit", odd), UsageError);
}

}  // namespace
}  // namespace fg
