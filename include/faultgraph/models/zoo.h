// The built-in architectures ("model creator"): graph builders with a configurable input
// shape, number of classes and width.
//
//   seed_inception  InjectTFParallel's one-Inception-module model, with its layer names
//   resnet20        He et al.'s CIFAR ResNet (3 stages x 3 basic blocks, option-A shortcuts)
//   resnet50        torchvision's ResNet-50
//   mobilenet_v2    torchvision's MobileNetV2
//   inception_v3    torchvision's Inception v3 (no auxiliary classifier)
//   vit             a small Vision Transformer in torchvision's layout (patch 4 up to 64-pixel
//                   inputs, 16 above; 4 layers, 4 heads, width 64), attention node by node
//
// At their full input size (224x224x3, 299x299x3 for Inception v3) resnet50, mobilenet_v2
// and inception_v3 are torchvision's networks layer for layer: their initializers carry
// torchvision's state_dict keys, so a torchvision checkpoint's tensors load by name. Small
// inputs (at most 64 pixels a side, e.g. 28x28x1 or 32x32x3) get the usual small-image
// stem: stride-1 3x3 first convolution and no stem pooling (see each builder).
// torchvision-style models end in logits; seed_inception ends in its Softmax.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "faultgraph/ir/graph.h"

namespace fg {

struct ModelOptions {
  int64_t channels = 0, height = 0, width = 0;  // 0: the architecture's default input
  int64_t classes = 0;                          // 0: the architecture's default
  double width_multiplier = 1.0;                // scales every layer's channel count
  uint64_t seed = 0;                            // weight initialisation
};

struct ModelInfo {
  std::string name;
  std::string description;
  int64_t channels, height, width, classes;  // defaults
  int64_t min_size;                          // smallest input side the network accepts
};

const std::vector<ModelInfo>& builtin_models();
// Throws UsageError naming the closest architecture for an unknown name, and one naming
// the option for an input the network cannot take.
Graph build_model(const std::string& name, const ModelOptions& options = {});

namespace models {
Graph resnet20(const ModelOptions& o);
Graph resnet50(const ModelOptions& o);
Graph mobilenet_v2(const ModelOptions& o);
Graph inception_v3(const ModelOptions& o);
Graph vit(const ModelOptions& o);
}  // namespace models

}  // namespace fg
