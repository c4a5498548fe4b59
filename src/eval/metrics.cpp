#include "faultgraph/eval/metrics.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "faultgraph/core/error.h"
#include "faultgraph/core/files.h"

namespace fg {

Evaluation::Evaluation(int64_t classes, Scores scores)
    : classes_(classes),
      scores_(scores),
      confusion_(at::zeros({classes, classes}, at::kLong)),
      non_finite_per_class_(at::zeros({classes}, at::kLong)) {}

void Evaluation::add(const at::Tensor& scores, const at::Tensor& labels) {
  FG_CHECK(scores.dim() == 2 && scores.size(0) == labels.size(0), UsageError,
           "evaluation: expected N x classes scores for N labels, got scores ", scores.sizes());
  FG_CHECK(scores.size(1) >= classes_, UsageError, "evaluation: the model gives ", scores.size(1),
           " scores per sample but the dataset has ", classes_, " classes");
  at::Tensor raw = scores.detach().to(at::kFloat);
  at::Tensor lab = labels.to(at::kLong);
  FG_CHECK(labels.numel() == 0 ||
               (lab.min().item<int64_t>() >= 0 && lab.max().item<int64_t>() < classes_),
           UsageError, "evaluation: labels must be in 0..", classes_ - 1);
  // A sample with any NaN or infinite score is a detected error (DUE), never a correct
  // prediction: its predicted class is -1 and it is wrong in top-1 and top-5 alike.
  at::Tensor finite = raw.isfinite().all(1);
  at::Tensor s = raw.masked_fill(finite.logical_not().unsqueeze(1), 0.0f);
  at::Tensor pred = s.argmax(1).masked_fill(finite.logical_not(), -1);
  top1_ += pred.eq(lab).logical_and(finite).sum().item<int64_t>();
  int64_t k = std::min<int64_t>(5, s.size(1));
  at::Tensor top = std::get<1>(s.topk(k, 1));
  top5_ += top.eq(lab.unsqueeze(1)).any(1).logical_and(finite).sum().item<int64_t>();
  at::Tensor cells = (lab * classes_ + pred.clamp(0, classes_ - 1)).masked_select(finite);
  confusion_.view(-1).index_add_(0, cells, at::ones_like(cells));
  at::Tensor bad = lab.masked_select(finite.logical_not());
  non_finite_per_class_.index_add_(0, bad, at::ones_like(bad));
  predictions_.push_back(pred);
  samples_ += labels.size(0);
  non_finite_ += bad.numel();
  at::Tensor log_p = scores_ == Scores::kLogits ? at::log_softmax(raw, 1) : raw.log();
  at::Tensor nll = -log_p.gather(1, lab.unsqueeze(1)).squeeze(1);
  // A probability of exactly 0 for the true class gives an infinite loss: counted (it is
  // the model's output, not a fault's), like PyTorch's NLLLoss on log(0).
  loss_sum_ += nll.masked_select(finite).sum().item<double>();
}

double Evaluation::top1() const {
  return samples_ ? static_cast<double>(top1_) / static_cast<double>(samples_) : 0.0;
}
double Evaluation::top5() const {
  return samples_ ? static_cast<double>(top5_) / static_cast<double>(samples_) : 0.0;
}
double Evaluation::loss() const {
  int64_t n = samples_ - non_finite_;
  return n > 0 ? loss_sum_ / static_cast<double>(n) : std::nan("");
}

std::vector<double> Evaluation::per_class_accuracy() const {
  std::vector<double> out;
  auto acc = confusion_.accessor<int64_t, 2>();
  auto bad = non_finite_per_class_.accessor<int64_t, 1>();
  for (int64_t i = 0; i < classes_; ++i) {
    int64_t total = bad[i];
    for (int64_t j = 0; j < classes_; ++j) total += acc[i][j];
    out.push_back(total ? static_cast<double>(acc[i][i]) / static_cast<double>(total)
                        : std::nan(""));
  }
  return out;
}

at::Tensor Evaluation::predictions() const {
  return predictions_.empty() ? at::empty({0}, at::kLong) : at::cat(predictions_);
}

std::string Evaluation::confusion_csv() const {
  std::string out = "true\\predicted";
  for (int64_t j = 0; j < classes_; ++j) out += fmt::format(",{}", j);
  out += ",non_finite\n";
  auto acc = confusion_.accessor<int64_t, 2>();
  auto bad = non_finite_per_class_.accessor<int64_t, 1>();
  for (int64_t i = 0; i < classes_; ++i) {
    out += std::to_string(i);
    for (int64_t j = 0; j < classes_; ++j) out += fmt::format(",{}", acc[i][j]);
    out += fmt::format(",{}\n", bad[i]);
  }
  return out;
}

void Evaluation::write_confusion_png(const std::string& path, const std::string& title,
                                     const std::vector<std::string>& class_names) const {
  const int n = static_cast<int>(classes_);
  const int cell = std::clamp(720 / std::max(n, 1), 14, 56);
  auto label = [&](int i) {
    return i < static_cast<int>(class_names.size()) ? class_names[static_cast<size_t>(i)]
                                                    : std::to_string(i);
  };
  const int font = cv::FONT_HERSHEY_SIMPLEX;
  const double label_scale = std::min(0.45, cell / 40.0);
  int label_width = 0;
  for (int i = 0; i < n; ++i) {
    int base = 0;
    label_width =
        std::max(label_width, cv::getTextSize(label(i), font, label_scale, 1, &base).width);
  }
  const int left = label_width + 40, top = 60, bottom = 40, right = 20;
  cv::Mat img(top + n * cell + bottom, left + n * cell + right, CV_8UC3, cv::Scalar(255, 255, 255));

  // Row-normalised shares, coloured with viridis.
  at::Tensor rows = confusion_.to(at::kDouble);
  at::Tensor share = rows / rows.sum(1, true).clamp_min(1);
  cv::Mat levels(n, n, CV_8UC1);
  auto sh = share.accessor<double, 2>();
  auto cnt = confusion_.accessor<int64_t, 2>();
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      levels.at<uint8_t>(i, j) = cv::saturate_cast<uint8_t>(sh[i][j] * 255);
  cv::Mat colours;
  cv::applyColorMap(levels, colours, cv::COLORMAP_VIRIDIS);
  const double count_scale = std::min(0.4, cell / 70.0);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      cv::Rect r(left + j * cell, top + i * cell, cell, cell);
      cv::rectangle(img, r, cv::Scalar(colours.at<cv::Vec3b>(i, j)), cv::FILLED);
      if (cell >= 28 && cnt[i][j] > 0) {
        std::string text = std::to_string(cnt[i][j]);
        int base = 0;
        cv::Size ts = cv::getTextSize(text, font, count_scale, 1, &base);
        cv::Scalar ink = sh[i][j] > 0.6 ? cv::Scalar(0, 0, 0) : cv::Scalar(255, 255, 255);
        cv::putText(img, text, {r.x + (cell - ts.width) / 2, r.y + (cell + ts.height) / 2}, font,
                    count_scale, ink, 1, cv::LINE_AA);
      }
    }
    int base = 0;
    cv::Size ts = cv::getTextSize(label(i), font, label_scale, 1, &base);
    cv::putText(img, label(i), {left - 8 - ts.width, top + i * cell + (cell + ts.height) / 2}, font,
                label_scale, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
    if (cell >= 20 || i % 2 == 0) {
      cv::putText(img, std::to_string(i), {left + i * cell + cell / 4, top + n * cell + 16}, font,
                  label_scale, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
    }
  }
  cv::putText(img, title, {10, 24}, font, 0.6, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  cv::putText(img, "rows: true class, columns: predicted (colour: share of the row)", {10, 46},
              font, 0.4, cv::Scalar(80, 80, 80), 1, cv::LINE_AA);
  cv::putText(img, "predicted", {left + n * cell / 2 - 30, top + n * cell + 34}, font, 0.4,
              cv::Scalar(80, 80, 80), 1, cv::LINE_AA);
  std::vector<uint8_t> png;
  FG_CHECK(cv::imencode(".png", img, png), UsageError, path, ": could not encode the PNG");
  write_file_atomic(path, std::string_view(reinterpret_cast<const char*>(png.data()), png.size()));
}

Evaluation::Scores scores_of(const Graph& g) {
  if (g.outputs().empty()) return Evaluation::Scores::kLogits;
  NodeId p = g.value(g.outputs()[0]).producer;
  return p != kNoNode && g.node(p).op == OpKind::kSoftmax ? Evaluation::Scores::kProbabilities
                                                          : Evaluation::Scores::kLogits;
}

}  // namespace fg
