// IDX files (MNIST, Fashion-MNIST), plain or gzip-compressed, and the labelled test or
// training split of such a dataset folder.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

#include "faultgraph/data/dataset.h"

namespace fg {

// The array in an IDX file (unsigned byte data as uint8). Throws DatasetError naming the
// file for a missing, truncated or malformed one.
at::Tensor read_idx(const std::string& path);

// `dir` holds {train,t10k}-images-idx3-ubyte[.gz] and {train,t10k}-labels-idx1-ubyte[.gz];
// split is "train" or "test". Checks that images and labels agree in count.
LabelledImages load_idx_dataset(const std::string& dir, const std::string& split);

}  // namespace fg
