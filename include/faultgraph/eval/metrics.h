// Classification metrics: top-1 and top-5 accuracy and the confusion matrix.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace fg {

class Evaluation {
 public:
  explicit Evaluation(int64_t classes);
  // Adds a batch: scores N x classes (logits or probabilities), labels N (int64).
  void add(const at::Tensor& scores, const at::Tensor& labels);

  int64_t samples() const { return samples_; }
  double top1() const;
  double top5() const;
  // confusion[true][predicted], int64 classes x classes.
  const at::Tensor& confusion() const { return confusion_; }
  // Predicted classes of every sample added, in order (for comparing runs).
  at::Tensor predictions() const;
  std::string confusion_csv() const;

 private:
  int64_t classes_;
  int64_t samples_ = 0, top1_ = 0, top5_ = 0;
  at::Tensor confusion_;
  std::vector<at::Tensor> predictions_;
};

}  // namespace fg
