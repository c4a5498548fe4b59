#include "faultgraph/train/trainer.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "faultgraph/core/error.h"
#include "faultgraph/exec/executor.h"
#include "faultgraph/io/npy.h"
#include "faultgraph/io/onnx.h"
#include "faultgraph/models/seed_inception.h"
#include "faultgraph/models/zoo.h"
#include "test_util.h"

namespace fg {
namespace {

// Two classes told apart by which half of the image is bright: learnable in one epoch.
LabelledImages halves(int64_t n, uint64_t seed) {
  at::manual_seed(seed);
  LabelledImages d;
  d.labels = at::randint(0, 2, {n}, at::kLong);
  d.images = at::rand({n, 1, 8, 8}) * 0.3;
  for (int64_t i = 0; i < n; ++i) {
    int64_t top = d.labels[i].item<int64_t>() == 0 ? 0 : 4;
    d.images[i].slice(1, top, top + 4).add_(0.7);
  }
  d.classes = 2;
  return d;
}

SeedInceptionOptions tiny() {
  SeedInceptionOptions o;
  o.height = o.width = 8;
  o.classes = 2;
  o.f1 = 4, o.f2_in = 4, o.f2_out = 4, o.f3_in = 2, o.f3_out = 2, o.f4_out = 2;
  return o;
}

TEST(Trainer, LearnsASimpleTaskAndLeavesTheInputModelAlone) {
  Graph model = seed_inception_model(tiny());
  at::Tensor w_before = model.value(*model.find_value("conv2d_1.weight")).data->clone();
  TrainOptions o;
  o.epochs = 2;
  o.batch = 16;
  o.learning_rate = 3e-3;
  o.progress = false;
  std::vector<EpochStats> history;
  Graph trained = train(model, halves(256, 1), halves(128, 2), o, &history);
  ASSERT_EQ(history.size(), 2U);
  EXPECT_LT(history[1].loss, history[0].loss);
  EXPECT_GE(history[1].validation_accuracy, 0.95);
  EXPECT_TRUE(at::equal(*model.value(*model.find_value("conv2d_1.weight")).data, w_before));
  EXPECT_FALSE(trained.value(*trained.find_value("conv2d_1.weight")).data->requires_grad());
}

TEST(Trainer, TrainedModelSavesAndReopensWithTheSameOutputs) {
  TrainOptions o;
  o.epochs = 1;
  o.batch = 32;
  o.progress = false;
  Graph trained = train(seed_inception_model(tiny()), halves(64, 3), {}, o);
  Graph again = import_onnx_bytes(export_onnx_bytes(trained), "trained");
  at::Tensor x = halves(8, 4).images;
  EXPECT_TRUE(bitwise_equal(Executor(trained).run({x})[0], Executor(std::move(again)).run({x})[0]));
}

TEST(Trainer, RejectsWhatItCannotTrain) {
  TrainOptions o;
  o.optimizer = "lamb";
  EXPECT_THROW(train(seed_inception_model(tiny()), halves(8, 5), {}, o), UsageError);
}

// Three full-batch steps in training mode (BatchNorm on batch statistics, running
// statistics updated) against the same steps in PyTorch (scripts/make_reference.py train).
class PyTorchSteps : public testing::TestWithParam<const char*> {};

TEST_P(PyTorchSteps, WeightsStatisticsAndLossesMatch) {
  std::string opt = GetParam();
  auto dir = test::refdata("train");
  Graph model = import_onnx((dir / "model.onnx").string());
  LabelledImages data;
  data.images = read_npy((dir / "x.npy").string());
  data.labels = read_npy((dir / "y.npy").string());
  data.classes = 3;
  TrainOptions o;
  o.epochs = 3;  // one batch per epoch: three steps, the order within the batch is immaterial
  o.batch = 8;
  o.optimizer = opt;
  o.learning_rate = opt == "sgd" ? 0.1 : 1e-2;
  o.momentum = 0.9;
  o.weight_decay = 1e-3;
  o.progress = false;
  std::vector<EpochStats> history;
  Graph trained = train(model, data, {}, o, &history);

  std::ifstream f(dir / (opt + "_losses.txt"));
  ASSERT_EQ(history.size(), 3U);  // one loss per epoch, each compared below
  int losses = 0;
  for (const EpochStats& s : history) {
    double expected = 0;
    ASSERT_TRUE(static_cast<bool>(f >> expected))
        << "PyTorch's losses end before epoch " << s.epoch;
    EXPECT_NEAR(s.loss, expected, 1e-5) << "epoch " << s.epoch;
    ++losses;
  }
  EXPECT_EQ(losses, 3);
  int compared = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::string file = entry.path().filename().string();
    std::string prefix = opt + "_after_";
    if (file.rfind(prefix, 0) != 0) continue;
    std::string name = file.substr(prefix.size(), file.size() - prefix.size() - 4);
    at::Tensor expected = read_npy(entry.path().string());
    auto id = trained.find_value(name);
    ASSERT_TRUE(id.has_value()) << name;
    EXPECT_LE(test::relative_error(*trained.value(*id).data, expected), 2e-5) << name;
    ++compared;
  }
  EXPECT_EQ(compared, 12);  // 2 convolutions, 2 x 4 BatchNorm tensors, fc weight and bias
}

INSTANTIATE_TEST_SUITE_P(Trainer, PyTorchSteps, testing::Values("sgd", "adam"));

TEST(Trainer, LearningRateSchedules) {
  TrainOptions o;
  o.learning_rate = 0.1;
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(o, 57, 10, 100), 0.1);
  o.schedule = "step";
  o.step_epochs = 2;
  o.gamma = 0.5;
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(o, 19, 10, 100), 0.1);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(o, 20, 10, 100), 0.05);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(o, 45, 10, 100), 0.025);
  o.schedule = "cosine";
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(o, 0, 10, 100), 0.1);
  EXPECT_NEAR(scheduled_learning_rate(o, 50, 10, 100), 0.05, 1e-12);
  EXPECT_NEAR(scheduled_learning_rate(o, 100, 10, 100), 0.0, 1e-12);
  o.schedule = "linear";
  EXPECT_THROW(scheduled_learning_rate(o, 0, 1, 1), UsageError);
}

// Stopping after epoch 1 and resuming from the checkpoint gives exactly the weights of an
// uninterrupted run: the optimiser's state and the shuffling come back too.
TEST(Trainer, ResumedTrainingEqualsUninterruptedTraining) {
  Graph model = import_onnx((test::refdata("train") / "model.onnx").string());
  LabelledImages data;
  at::manual_seed(5);
  data.images = at::rand({40, 1, 6, 6});
  data.labels = at::randint(0, 3, {40}, at::kLong);
  data.classes = 3;
  TrainOptions o;
  o.epochs = 2;
  o.batch = 8;
  o.learning_rate = 1e-2;
  o.progress = false;
  Graph straight = train(model, data, data, o);

  auto dir = test::temp_path("ckpt");
  std::filesystem::remove_all(dir);
  TrainOptions first = o;
  first.epochs = 1;
  first.checkpoint_dir = dir.string();
  train(model, data, data, first);
  EXPECT_TRUE(std::filesystem::exists(dir / "checkpoint.onnx"));
  EXPECT_TRUE(std::filesystem::exists(dir / "checkpoint.optim"));
  TrainOptions rest = o;
  rest.checkpoint_dir = dir.string();
  rest.resume = true;
  std::vector<EpochStats> history;
  Graph resumed = train(model, data, data, rest, &history);
  ASSERT_EQ(history.size(), 2U);
  EXPECT_EQ(history[0].epoch, 1);
  EXPECT_EQ(history[1].epoch, 2);
  for (const Value& v : straight.values()) {
    if (v.is_initializer() && is_floating(v.dtype)) {
      EXPECT_TRUE(at::equal(*v.data, *resumed.value(v.id).data)) << v.name;
    }
  }

  // A checkpoint with other settings, or whose files disagree, is refused.
  TrainOptions other = rest;
  other.batch = 4;
  EXPECT_THROW(train(model, data, data, other), UsageError);
  std::ofstream(dir / "checkpoint.optim", std::ios::app) << "junk";
  try {
    train(model, data, data, rest);
    FAIL() << "a damaged checkpoint was accepted";
  } catch (const DatasetError& e) {
    EXPECT_NE(std::string(e.what()).find("do not match"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fg

namespace fg {
namespace {
// The built-in ViT trains through autograd (LayerNormalization, MatMul over heads, Softmax,
// Erf): it learns the two-halves task, and every attention projection moves.
TEST(Trainer, VisionTransformerLearnsThroughAttention) {
  ModelOptions mo;
  mo.channels = 1;
  mo.height = mo.width = 8;
  mo.classes = 2;
  mo.width_multiplier = 0.25;
  mo.seed = 5;
  Graph model = build_model("vit", mo);
  TrainOptions o;
  o.epochs = 3;
  o.batch = 16;
  o.learning_rate = 3e-3;
  o.progress = false;
  std::vector<EpochStats> history;
  Graph trained = train(model, halves(512, 1), halves(128, 2), o, &history);
  ASSERT_EQ(history.size(), 3U);
  EXPECT_LT(history[2].loss, history[0].loss);
  EXPECT_GE(history[2].validation_accuracy, 0.9);
  for (const char* p : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
    std::string name =
        std::string("encoder.layers.encoder_layer_0.self_attention.") + p + ".weight";
    EXPECT_FALSE(at::equal(*model.value(*model.find_value(name)).data,
                           *trained.value(*trained.find_value(name)).data))
        << name;
  }
}
}  // namespace
}  // namespace fg
