#include "faultgraph/eval/metrics.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "faultgraph/core/error.h"

namespace fg {

Evaluation::Evaluation(int64_t classes)
    : classes_(classes), confusion_(at::zeros({classes, classes}, at::kLong)) {}

void Evaluation::add(const at::Tensor& scores, const at::Tensor& labels) {
  FG_CHECK(scores.dim() == 2 && scores.size(0) == labels.size(0), UsageError,
           "evaluation: expected N x classes scores for N labels, got scores ", scores.sizes());
  FG_CHECK(scores.size(1) >= classes_, UsageError, "evaluation: the model gives ", scores.size(1),
           " scores per sample but the dataset has ", classes_, " classes");
  // NaN scores never win: a DUE counts as a wrong prediction.
  at::Tensor s = at::nan_to_num(scores.to(at::kFloat), -INFINITY, INFINITY, -INFINITY);
  at::Tensor pred = s.argmax(1);
  at::Tensor lab = labels.to(at::kLong);
  top1_ += pred.eq(lab).sum().item<int64_t>();
  int64_t k = std::min<int64_t>(5, s.size(1));
  at::Tensor top = std::get<1>(s.topk(k, 1));
  top5_ += top.eq(lab.unsqueeze(1)).any(1).sum().item<int64_t>();
  at::Tensor clamped = pred.clamp_max(classes_ - 1);
  confusion_.view(-1).index_add_(0, lab * classes_ + clamped, at::ones_like(lab));
  predictions_.push_back(pred);
  samples_ += labels.size(0);
}

double Evaluation::top1() const {
  return samples_ ? static_cast<double>(top1_) / static_cast<double>(samples_) : 0.0;
}
double Evaluation::top5() const {
  return samples_ ? static_cast<double>(top5_) / static_cast<double>(samples_) : 0.0;
}

at::Tensor Evaluation::predictions() const {
  return predictions_.empty() ? at::empty({0}, at::kLong) : at::cat(predictions_);
}

std::string Evaluation::confusion_csv() const {
  std::string out = "true\\predicted";
  for (int64_t j = 0; j < classes_; ++j) out += fmt::format(",{}", j);
  out += "\n";
  auto acc = confusion_.accessor<int64_t, 2>();
  for (int64_t i = 0; i < classes_; ++i) {
    out += std::to_string(i);
    for (int64_t j = 0; j < classes_; ++j) out += fmt::format(",{}", acc[i][j]);
    out += "\n";
  }
  return out;
}

}  // namespace fg
