#include "faultgraph/eval/metrics.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "faultgraph/eval/evaluate.h"
#include "faultgraph/fault/insert_faults.h"

namespace fg {
namespace {

at::Tensor scores(std::vector<std::vector<float>> rows) {
  at::Tensor t =
      at::empty({static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())});
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t j = 0; j < rows[i].size(); ++j) t[i][j] = rows[i][j];
  return t;
}

TEST(Metrics, HandMadeScores) {
  // 6 classes. Row 0: correct. Row 1: true class second (top-5, not top-1). Row 2: true
  // class last (neither). Row 3: NaN. Row 4: +inf on the true class. Row 5: -inf elsewhere.
  const float nan = std::nanf(""), inf = INFINITY;
  Evaluation e(6);
  e.add(scores({{5, 1, 0, 0, 0, 0},
                {4, 3, 0, 0, 0, 0},
                {6, 5, 4, 3, 2, 1},
                {nan, 0, 0, 0, 0, 0},
                {0, 0, inf, 0, 0, 0},
                {0, 0, 0, -inf, 9, 0}}),
        at::tensor(std::vector<int64_t>{0, 1, 5, 0, 2, 4}));
  EXPECT_EQ(e.samples(), 6);
  EXPECT_EQ(e.non_finite(), 3);
  // Non-finite rows are wrong whatever they hold: only rows 0 counts in top-1.
  EXPECT_NEAR(e.top1(), 1.0 / 6, 1e-12);
  EXPECT_NEAR(e.top5(), 2.0 / 6, 1e-12);
  at::Tensor pred = e.predictions();
  EXPECT_EQ(pred[0].item<int64_t>(), 0);
  EXPECT_EQ(pred[1].item<int64_t>(), 0);
  EXPECT_EQ(pred[3].item<int64_t>(), -1);
  EXPECT_EQ(pred[4].item<int64_t>(), -1);
  EXPECT_EQ(pred[5].item<int64_t>(), -1);
  // Loss over the finite rows only: rows 0, 1, 2.
  auto ce = [](std::vector<double> s, int k) {
    double m = 0;
    for (double v : s) m += std::exp(v);
    return std::log(m) - s[static_cast<size_t>(k)];
  };
  double expected =
      (ce({5, 1, 0, 0, 0, 0}, 0) + ce({4, 3, 0, 0, 0, 0}, 1) + ce({6, 5, 4, 3, 2, 1}, 5)) / 3;
  EXPECT_NEAR(e.loss(), expected, 1e-5);
  // Per class: class 0 has rows 0 (right) and 3 (NaN): 50%; class 2 only the +inf row: 0.
  auto per = e.per_class_accuracy();
  EXPECT_NEAR(per[0], 0.5, 1e-12);
  EXPECT_NEAR(per[1], 0.0, 1e-12);
  EXPECT_NEAR(per[2], 0.0, 1e-12);
  EXPECT_TRUE(std::isnan(per[3]));
  // Confusion holds the finite rows; the CSV adds the non-finite column.
  EXPECT_EQ(e.confusion().sum().item<int64_t>(), 3);
  EXPECT_NE(e.confusion_csv().find("non_finite"), std::string::npos);
  EXPECT_EQ(e.non_finite_per_class()[0].item<int64_t>(), 1);
  EXPECT_EQ(e.non_finite_per_class()[2].item<int64_t>(), 1);
}

// per_sample faults are keyed by the sample's index in the dataset: the same faults at any
// batch size (here 3 and 8, samples past the first batch included).
TEST(Evaluate, PerSampleFaultsDoNotDependOnTheBatchSize) {
  Graph g;
  ValueId x = g.add_input("x", DType::kFloat32, {kUnknownDim, 4, 5});
  NodeId relu = g.add_node("relu", OpKind::kRelu, {x}, {"r"});
  Attrs flat;
  flat.set("axis", int64_t{1});
  NodeId scores = g.add_node("flat", OpKind::kFlatten, {g.node(relu).outputs[0]}, {"s"}, flat);
  g.add_output(g.node(scores).outputs[0]);
  FaultSpec spec;
  spec.bits = {30};
  spec.selection = Selection::kCount;
  spec.count = 2;
  spec.per_sample = true;
  spec.seed = 17;
  Graph faulty = insert_faults(g, {{{SiteKind::kActivation, "relu", 0}, spec}});
  at::Tensor images = at::rand({16, 4, 5}) * 0.5 + 0.5;  // [0.5, 1): bit 30 flips stay finite
  at::Tensor labels = at::zeros({16}, at::kLong);
  auto outputs_at = [&](int64_t batch) {
    Executor exec(faulty);
    std::vector<at::Tensor> out;
    EvalOptions o;
    o.batch = batch;
    evaluate(exec, images, labels, 20, Evaluation::Scores::kLogits, o, nullptr,
             [&](const std::vector<at::Tensor>& y, int64_t) { out.push_back(y[0]); });
    return at::cat(out);
  };
  at::Tensor a = outputs_at(3), b = outputs_at(8);
  EXPECT_TRUE(at::equal(a, b)) << (a != b).any(1);
  EXPECT_TRUE(a.isfinite().all().item<bool>());
  // And samples get different elements: not every sample sees sample 0's fault.
  at::Tensor changed = (a != at::relu(images).view({16, -1}));
  EXPECT_FALSE(at::equal(changed[0], changed[9]));
}

}  // namespace
}  // namespace fg
