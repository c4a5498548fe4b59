// InjectTFParallel's model: one Inception module (1x1; 1x1 -> 3x3; 1x1 -> 5x5;
// 3x3 max pool -> 1x1; concatenated), flatten, dense, softmax. Layers carry the seed's
// names (input_3, conv2d_1 ... conv2d_6, pool_1, concatenate, flatten_1, dense_1,
// softmax_1) so that its fault configuration file works unchanged. As in Keras,
// "conv2d_k" is the convolution with its ReLU: the node named conv2d_k is the ReLU (a
// fault "after the layer" corrupts the activated output); the convolution itself is
// "conv2d_k/conv". Layout is NCHW.
#pragma once

#include <cstdint>

#include "faultgraph/ir/graph.h"

namespace fg {

struct SeedInceptionOptions {
  int64_t channels = 1, height = 28, width = 28;
  int64_t classes = 10;
  // The seed's filter counts: f1, f2_in, f2_out, f3_in, f3_out, f4_out.
  int64_t f1 = 64, f2_in = 96, f2_out = 128, f3_in = 16, f3_out = 32, f4_out = 32;
  uint64_t seed = 0;  // weight initialisation (He-uniform for convolutions, Glorot for dense)
};

Graph seed_inception_model(const SeedInceptionOptions& options = {});

}  // namespace fg
