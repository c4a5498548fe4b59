// Classification metrics: top-1 and top-5 accuracy, cross-entropy loss, per-class
// accuracy and the confusion matrix (CSV and a PNG heatmap).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "faultgraph/ir/graph.h"

namespace fg {

class Evaluation {
 public:
  // What the model's scores are: logits, or probabilities (a model ending in Softmax).
  enum class Scores { kLogits, kProbabilities };
  explicit Evaluation(int64_t classes, Scores scores = Scores::kLogits);
  // Adds a batch: scores N x classes, labels N (int64).
  void add(const at::Tensor& scores, const at::Tensor& labels);

  int64_t samples() const { return samples_; }
  double top1() const;
  double top5() const;
  // Mean cross-entropy over the samples whose scores are finite (a NaN or infinite score
  // from a fault counts in accuracy as a wrong prediction, not in the loss).
  double loss() const;
  // Samples whose scores hold a NaN or an infinity: always counted wrong (predicted class
  // -1), left out of the confusion matrix and counted per true class instead.
  int64_t non_finite() const { return non_finite_; }
  const at::Tensor& non_finite_per_class() const { return non_finite_per_class_; }
  // Accuracy of each true class (NaN for a class with no samples).
  std::vector<double> per_class_accuracy() const;
  // confusion[true][predicted], int64 classes x classes, of the samples with finite scores;
  // the CSV adds a last column with the non-finite samples of each true class.
  const at::Tensor& confusion() const { return confusion_; }
  // Predicted classes of every sample added, in order (for comparing runs); -1 for a
  // sample with non-finite scores.
  at::Tensor predictions() const;
  std::string confusion_csv() const;
  // The confusion matrix as a PNG heatmap (rows normalised to the class's samples, counts
  // written in the cells), written whole or not at all. `class_names` may be empty.
  void write_confusion_png(const std::string& path, const std::string& title,
                           const std::vector<std::string>& class_names = {}) const;

 private:
  int64_t classes_;
  Scores scores_;
  int64_t samples_ = 0, top1_ = 0, top5_ = 0, non_finite_ = 0;
  double loss_sum_ = 0;
  at::Tensor confusion_;
  at::Tensor non_finite_per_class_;
  std::vector<at::Tensor> predictions_;
};

// kProbabilities when the graph's first output is a Softmax's, else kLogits.
Evaluation::Scores scores_of(const Graph& g);

}  // namespace fg
