// load_dataset (format selection), CIFAR-10 binary batches, subsets, splits, normalisation.
#include "faultgraph/data/dataset.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <tuple>

#include "faultgraph/core/error.h"
#include "faultgraph/core/files.h"
#include "faultgraph/data/idx.h"

namespace fg {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kFashionMnistClasses{
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

bool has_idx_split(const fs::path& dir, const std::string& prefix) {
  return path_exists(dir / (prefix + "-images-idx3-ubyte.gz")) ||
         path_exists(dir / (prefix + "-images-idx3-ubyte"));
}
bool has_idx(const fs::path& dir) {
  return has_idx_split(dir, "train") || has_idx_split(dir, "t10k");
}
bool has_cifar10(const fs::path& dir) { return path_exists(dir / "data_batch_1.bin"); }
bool has_gtsrb(const fs::path& dir) {
  return path_exists(dir / "Final_Training" / "Images") ||
         path_exists(dir / "GTSRB" / "Final_Training") || path_exists(dir / "Train.csv");
}

bool has_subfolders(const fs::path& dir) {
  if (!is_folder(dir)) return false;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory()) return true;
  return false;
}

DatasetSplits load_idx(const std::string& dir) {
  // A folder may hold one split only (the test files, say): the other is then empty, and a
  // command that needs it says so.
  bool train = has_idx_split(dir, "train"), test = has_idx_split(dir, "t10k");
  DatasetSplits s;
  s.train = train || !test ? load_idx_dataset(dir, "train") : LabelledImages{};
  s.test = test || !train ? load_idx_dataset(dir, "test") : LabelledImages{};
  for (auto [part, other, name] :
       {std::tuple{&s.train, &s.test, "train"}, std::tuple{&s.test, &s.train, "test"}}) {
    if (part->images.defined()) continue;
    part->images = other->images.narrow(0, 0, 0);
    part->labels = other->labels.narrow(0, 0, 0);
    part->source = dir + " (" + name + " split: no files)";
  }
  int64_t classes = std::max(s.train.classes, s.test.classes);
  s.train.classes = s.test.classes = classes;
  if (fs::path(dir) == fs::path(kFashionMnistDir) && classes == 10)
    s.train.class_names = s.test.class_names = kFashionMnistClasses;
  return s;
}

// One CIFAR-10 batch file: records of 1 label byte and 3 x 32 x 32 pixel bytes.
void read_cifar_batch(const fs::path& path, std::vector<at::Tensor>& images,
                      std::vector<at::Tensor>& labels) {
  constexpr int64_t kRecord = 1 + 3 * 32 * 32;
  std::ifstream in(path, std::ios::binary);
  FG_CHECK(in, DatasetError, path.string(),
           ": cannot open (expected CIFAR-10's binary version: data_batch_1.bin ... "
           "data_batch_5.bin, test_batch.bin)");
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  auto size = static_cast<int64_t>(bytes.size());
  FG_CHECK(size > 0 && size % kRecord == 0, DatasetError, path.string(), ": ", size,
           " bytes is not a whole number of ", kRecord,
           "-byte records (truncated or not a CIFAR-10 binary batch)");
  at::Tensor raw = at::from_blob(bytes.data(), {size / kRecord, kRecord}, at::kByte).clone();
  at::Tensor lab = raw.select(1, 0).to(at::kLong);
  int64_t bad = lab.ge(10).nonzero().numel() > 0 ? lab.ge(10).nonzero()[0].item<int64_t>() : -1;
  FG_CHECK(bad < 0, DatasetError, path.string(), ": record ", bad, " has label ",
           bad >= 0 ? lab[bad].item<int64_t>() : 0, " (CIFAR-10 labels are 0..9)");
  images.push_back(raw.slice(1, 1).reshape({-1, 3, 32, 32}).to(at::kFloat).div_(255.0));
  labels.push_back(lab);
}

std::vector<std::string> cifar_class_names(const fs::path& dir) {
  std::vector<std::string> names;
  std::ifstream in(dir / "batches.meta.txt");
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  if (names.size() != 10) names.clear();
  return names;
}

}  // namespace

DatasetSplits load_cifar10(const std::string& dir) {
  fs::path d(dir);
  FG_CHECK(is_folder(d), DatasetError, dir, ": not a folder (expected CIFAR-10's binary batches)");
  DatasetSplits s;
  std::vector<at::Tensor> images, labels;
  for (int i = 1; i <= 5; ++i)
    read_cifar_batch(d / fmt::format("data_batch_{}.bin", i), images, labels);
  s.train.images = at::cat(images);
  s.train.labels = at::cat(labels);
  images.clear();
  labels.clear();
  read_cifar_batch(d / "test_batch.bin", images, labels);
  s.test.images = at::cat(images);
  s.test.labels = at::cat(labels);
  auto names = cifar_class_names(d);
  for (auto* part : {&s.train, &s.test}) {
    part->classes = 10;
    part->class_names = names;
  }
  s.train.source = dir + " (train)";
  s.test.source = dir + " (test)";
  return s;
}

DatasetSplits load_dataset(const std::string& spec, const DatasetOptions& options) {
  if (spec == "fashion-mnist") return load_idx(kFashionMnistDir);
  std::string format, path = spec;
  // "FORMAT:PATH" when what precedes the first colon is a word (a path may hold colons).
  auto colon = spec.find(':');
  if (colon != std::string::npos && colon > 0 &&
      std::all_of(spec.begin(), spec.begin() + static_cast<std::ptrdiff_t>(colon),
                  [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_'; })) {
    format = spec.substr(0, colon);
    path = spec.substr(colon + 1);
  }
  FG_CHECK(!path.empty(), DatasetError, spec.empty() ? "the dataset" : "'" + spec + "'",
           " names no folder; give a dataset folder, FORMAT:PATH (FORMAT one of idx, cifar10, "
           "gtsrb, folder) or fashion-mnist");
  FG_CHECK(path_exists(path), DatasetError, path, ": no such file or folder",
           format.empty() ? "; give a dataset folder, FORMAT:PATH (FORMAT one of idx, cifar10, "
                            "gtsrb, folder) or fashion-mnist (Debian's dataset-fashion-mnist)"
                          : "");
  if (format.empty()) {
    if (has_idx(path))
      format = "idx";
    else if (has_cifar10(path))
      format = "cifar10";
    else if (has_gtsrb(path))
      format = "gtsrb";
    else if (has_subfolders(path))
      format = "folder";
    FG_CHECK(!format.empty(), DatasetError, path,
             ": not a dataset (no IDX files, CIFAR-10 batches, GTSRB annotations or class "
             "sub-folders); give FORMAT:PATH, FORMAT one of idx, cifar10, gtsrb, folder");
  }
  if (format == "idx" || format == "mnist" || format == "fashion-mnist") return load_idx(path);
  if (format == "cifar10") return load_cifar10(path);
  if (format == "gtsrb") return load_gtsrb(path, options);
  if (format == "folder") return load_image_folder(path, options);
  FG_FAIL(UsageError, "dataset '", spec, "': unknown format '", format,
          "' (one of idx, cifar10, gtsrb, folder; or the name fashion-mnist)");
}

LabelledImages subset(const LabelledImages& data, const at::Tensor& indices) {
  LabelledImages out = data;
  out.images = data.images.index_select(0, indices);
  out.labels = data.labels.index_select(0, indices);
  return out;
}

DatasetSplits split(const LabelledImages& data, double test_fraction, uint64_t seed) {
  FG_CHECK(test_fraction > 0 && test_fraction < 1, UsageError, "test fraction ", test_fraction,
           " is outside (0, 1)");
  int64_t n = data.size();
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  at::Tensor order = at::randperm(n, gen, at::kLong);
  auto test_n = static_cast<int64_t>(std::llround(static_cast<double>(n) * test_fraction));
  DatasetSplits s{subset(data, order.slice(0, test_n)), subset(data, order.slice(0, 0, test_n))};
  s.train.source =
      data.source + fmt::format(" (train: {:.0f}%, seed {})", 100 * (1 - test_fraction), seed);
  s.test.source = data.source + fmt::format(" (test: {:.0f}%, seed {})", 100 * test_fraction, seed);
  return s;
}

std::pair<at::Tensor, at::Tensor> channel_statistics(const LabelledImages& data) {
  FG_CHECK(data.size() > 0, UsageError, "statistics of an empty dataset");
  at::Tensor mean = data.images.mean({0, 2, 3});
  at::Tensor std = data.images.std({0, 2, 3});
  return {mean, std};
}

void normalize(LabelledImages& data, const at::Tensor& mean, const at::Tensor& std) {
  FG_CHECK(mean.numel() == data.images.size(1) && std.numel() == data.images.size(1), UsageError,
           "normalisation needs one mean and one standard deviation per channel (",
           data.images.size(1), ")");
  FG_CHECK(std.gt(0).all().item<bool>(), UsageError, "a channel's standard deviation is 0");
  data.images = (data.images - mean.view({1, -1, 1, 1})) / std.view({1, -1, 1, 1});
}

}  // namespace fg
