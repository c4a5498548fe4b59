// Labelled image datasets: the in-memory form every loader returns, the loaders by
// format, and the helpers the trainer and evaluation use (subsets, seeded splits,
// normalisation).
//
// Formats (load_dataset picks one from a spec "FORMAT:PATH", or detects it from PATH):
//   idx     MNIST / Fashion-MNIST IDX files, plain or gzip (data/idx.h)
//   cifar10 CIFAR-10 binary batches: data_batch_1..5.bin, test_batch.bin
//   gtsrb   GTSRB, official layout (Final_Training/Images/000NN/GT-000NN.csv + .ppm) or the
//           common Train/ + Train.csv layout; resized to image_size, scaled to [0, 1],
//           split 70/30 into train and test with a seed, as InjectTFParallel does
//   folder  one sub-folder of images per class (PNG, JPEG, PPM/PGM, BMP); a folder with
//           train/ and test/ sub-folders gives those splits, else a seeded 70/30 split
// "fashion-mnist" alone names Debian's dataset-fashion-mnist files.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace fg {

struct LabelledImages {
  at::Tensor images;  // float32 N x C x H x W, scaled to [0, 1]
  at::Tensor labels;  // int64 N, in [0, classes)
  int64_t classes = 0;
  std::string source;
  std::vector<std::string> class_names;  // empty: classes are numbered

  int64_t size() const { return images.defined() ? images.size(0) : 0; }
};

struct DatasetSplits {
  LabelledImages train, test;
};

struct DatasetOptions {
  int64_t image_size = 32;     // gtsrb and folder images are resized to this square size
  int64_t channels = 3;        // folder: 1 (grey) or 3 (RGB)
  double test_fraction = 0.3;  // for formats without a test split
  uint64_t split_seed = 42;
};

// The named format's train and test splits. Throws DatasetError naming the file (and the
// place in it) for a missing, truncated or malformed file, UsageError for a bad spec.
DatasetSplits load_dataset(const std::string& spec, const DatasetOptions& options = {});

DatasetSplits load_cifar10(const std::string& dir);
DatasetSplits load_gtsrb(const std::string& dir, const DatasetOptions& options = {});
DatasetSplits load_image_folder(const std::string& dir, const DatasetOptions& options = {});

// The samples at `indices` (int64), in that order.
LabelledImages subset(const LabelledImages& data, const at::Tensor& indices);
// A seeded random split: `test_fraction` of the samples (rounded) go to test.
DatasetSplits split(const LabelledImages& data, double test_fraction, uint64_t seed);
// Per-channel mean and standard deviation of the images (two float32 tensors of C).
std::pair<at::Tensor, at::Tensor> channel_statistics(const LabelledImages& data);
// images = (images - mean) / std, per channel.
void normalize(LabelledImages& data, const at::Tensor& mean, const at::Tensor& std);

// The folder of Debian's dataset-fashion-mnist package.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

}  // namespace fg
