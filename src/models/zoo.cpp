#include "faultgraph/models/zoo.h"

#include <algorithm>

#include "faultgraph/core/error.h"
#include "faultgraph/models/seed_inception.h"

namespace fg {

namespace {

Graph seed_inception(const ModelOptions& o) {
  SeedInceptionOptions s;
  s.channels = o.channels;
  s.height = o.height;
  s.width = o.width;
  s.classes = o.classes;
  s.seed = o.seed;
  for (int64_t* f : {&s.f1, &s.f2_in, &s.f2_out, &s.f3_in, &s.f3_out, &s.f4_out}) {
    *f = std::max<int64_t>(
        1, static_cast<int64_t>(static_cast<double>(*f) * o.width_multiplier + 0.5));
  }
  return seed_inception_model(s);
}

struct Entry {
  ModelInfo info;
  Graph (*build)(const ModelOptions&);
};

const std::vector<Entry>& entries() {
  static const std::vector<Entry> e{
      {{"seed_inception", "InjectTFParallel's model: one Inception module, dense, softmax", 1, 28,
        28, 10, 1},
       seed_inception},
      {{"resnet20", "CIFAR ResNet-20 (He et al. 2016), option-A shortcuts, 0.27 M parameters", 3,
        32, 32, 10, 4},
       models::resnet20},
      {{"resnet50", "torchvision ResNet-50; inputs <= 64 px get a 3x3/1 stem, no max pool", 3, 224,
        224, 1000, 8},
       models::resnet50},
      {{"mobilenet_v2",
        "torchvision MobileNetV2; inputs <= 64 px get stride 1 in the stem and first 24-ch block",
        3, 224, 224, 1000, 8},
       models::mobilenet_v2},
      {{"inception_v3",
        "torchvision Inception v3 (no aux head); inputs < 75 px keep size through the stem", 3, 299,
        299, 1000, 16},
       models::inception_v3},
      {{"vit",
        "small Vision Transformer (torchvision layout): patch 4 (16 above 64 px), 4 layers x 4 "
        "heads, width 64",
        3, 32, 32, 10, 8},
       models::vit},
  };
  return e;
}

}  // namespace

const std::vector<ModelInfo>& builtin_models() {
  static const std::vector<ModelInfo> infos = [] {
    std::vector<ModelInfo> v;
    for (const Entry& e : entries()) v.push_back(e.info);
    return v;
  }();
  return infos;
}

Graph build_model(const std::string& name, const ModelOptions& options) {
  const auto& all = entries();
  auto it =
      std::find_if(all.begin(), all.end(), [&](const Entry& e) { return e.info.name == name; });
  if (it == all.end()) {
    std::vector<std::string> names;
    for (const Entry& e : all) names.push_back(e.info.name);
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    // Not every name is near a built-in one ("nosuchmodel"): a suggestion only when there is
    // one (an empty list here was an internal error).
    const std::vector<std::string> near = closest_names(name, names, 1);
    FG_FAIL(UsageError, "unknown model '", name, "' (",
            near.empty() ? std::string() : "did you mean '" + near[0] + "'? ", "built-in: ", list,
            ")");
  }
  const ModelInfo& info = it->info;
  ModelOptions o = options;
  if (o.channels == 0) o.channels = info.channels;
  if (o.height == 0) o.height = info.height;
  if (o.width == 0) o.width = info.width;
  if (o.classes == 0) o.classes = info.classes;
  FG_CHECK(o.channels > 0 && o.height > 0 && o.width > 0 && o.classes > 0, UsageError, "model '",
           name, "': input channels, height, width and classes must be positive");
  FG_CHECK(std::min(o.height, o.width) >= info.min_size, UsageError, "model '", name,
           "' needs inputs of at least ", info.min_size, "x", info.min_size, " pixels, got ",
           o.height, "x", o.width);
  FG_CHECK(o.width_multiplier > 0 && o.width_multiplier <= 16, UsageError, "model '", name,
           "': width multiplier ", o.width_multiplier, " is outside (0, 16]");
  Graph g = it->build(o);
  return g;
}

}  // namespace fg
