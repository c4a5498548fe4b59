#include "faultgraph/train/trainer.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "faultgraph/core/error.h"
#include "faultgraph/exec/executor.h"
#include "faultgraph/io/onnx.h"
#include "faultgraph/models/seed_inception.h"

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

}  // namespace
}  // namespace fg
