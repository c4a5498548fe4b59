// IDX files (MNIST, Fashion-MNIST), plain or gzip-compressed, and the labelled test or
// training split of such a dataset folder.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace fg {

// The array in an IDX file (unsigned byte data as uint8). Throws DatasetError naming the
// file for a missing, truncated or malformed one.
at::Tensor read_idx(const std::string& path);

struct LabelledImages {
  at::Tensor images;  // float32 N x C x H x W, scaled to [0, 1]
  at::Tensor labels;  // int64 N
  int64_t classes = 0;
  std::string source;
};

// `dir` holds {train,t10k}-images-idx3-ubyte[.gz] and {train,t10k}-labels-idx1-ubyte[.gz];
// split is "train" or "test". Checks that images and labels agree in count.
LabelledImages load_idx_dataset(const std::string& dir, const std::string& split);

// The folder of Debian's dataset-fashion-mnist package.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

}  // namespace fg
