// Datasets of image files, decoded and resized with OpenCV: GTSRB (official and Train.csv
// layouts) and a folder with one sub-folder per class.
#include <ATen/ATen.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/parallel.h"
#include "faultgraph/core/error.h"
#include "faultgraph/core/files.h"
#include "faultgraph/data/dataset.h"

namespace fg {

namespace fs = std::filesystem;

namespace {

// OpenCV 4.6 writes its own line to std::cerr for a file it cannot decode; faultgraph
// reports that file itself, in one line, so stderr is muted while images decode.
class MutedStderr {
 public:
  MutedStderr() {
    std::cerr.flush();
    std::fflush(stderr);
    saved_ = ::dup(2);
    int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved_ >= 0 && null >= 0) ::dup2(null, 2);
    if (null >= 0) ::close(null);
  }
  ~MutedStderr() {
    std::cerr.flush();
    std::fflush(stderr);
    if (saved_ >= 0) {
      ::dup2(saved_, 2);
      ::close(saved_);
    }
  }
  MutedStderr(const MutedStderr&) = delete;
  MutedStderr& operator=(const MutedStderr&) = delete;

 private:
  int saved_ = -1;
};

struct ImageFile {
  fs::path path;
  int64_t label;
};

// Decodes every file into an N x C x size x size float tensor in [0, 1] (RGB order),
// resizing with area interpolation (bilinear when enlarging). Files decode in parallel.
at::Tensor decode_images(const std::vector<ImageFile>& files, int64_t size, int64_t channels) {
  FG_CHECK(channels == 1 || channels == 3, UsageError, "images can have 1 or 3 channels, not ",
           channels);
  FG_CHECK(size > 0, UsageError, "the image size must be positive");
  auto n = static_cast<int64_t>(files.size());
  at::Tensor out = at::empty({n, size, size, channels}, at::kByte);
  std::vector<std::string> errors(files.size());
  MutedStderr muted;
  fg::parallel_for(0, n, 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const auto& f = files[static_cast<size_t>(i)];
      cv::Mat img;
      try {
        img = cv::imread(f.path.string(), channels == 3 ? cv::IMREAD_COLOR : cv::IMREAD_GRAYSCALE);
      } catch (const cv::Exception& e) {
        // OpenCV refuses images whose header claims absurd sizes (and other corruption).
        errors[static_cast<size_t>(i)] =
            f.path.string() + ": cannot be read as an image (" + e.err + ")";
        continue;
      }
      if (img.empty()) {
        errors[static_cast<size_t>(i)] =
            f.path.string() +
            ": cannot be read as an image (missing, truncated or not an image file)";
        continue;
      }
      if (channels == 3) cv::cvtColor(img, img, cv::COLOR_BGR2RGB);
      cv::Mat resized;
      bool shrink = img.cols >= size && img.rows >= size;
      cv::resize(img, resized, cv::Size(static_cast<int>(size), static_cast<int>(size)), 0, 0,
                 shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
      cv::Mat dst(static_cast<int>(size), static_cast<int>(size), channels == 3 ? CV_8UC3 : CV_8UC1,
                  out[i].data_ptr());
      resized.copyTo(dst);
    }
  });
  for (const auto& e : errors) FG_CHECK(e.empty(), DatasetError, e);
  return out.permute({0, 3, 1, 2}).to(at::kFloat).div_(255.0).contiguous();
}

LabelledImages make_set(const std::vector<ImageFile>& files, int64_t classes,
                        const DatasetOptions& o, int64_t channels, const std::string& source) {
  LabelledImages s;
  s.images = decode_images(files, o.image_size, channels);
  std::vector<int64_t> labels;
  for (const auto& f : files) labels.push_back(f.label);
  s.labels = at::tensor(labels, at::TensorOptions().dtype(at::kLong));
  s.classes = classes;
  s.source = source;
  return s;
}

std::vector<std::string> split_line(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::string cell;
  for (char c : line) {
    if (c == sep) {
      out.push_back(cell);
      cell.clear();
    } else if (c != '\r') {
      cell += c;
    }
  }
  out.push_back(cell);
  return out;
}

// A GTSRB annotation file (";" or "," separated, with a header naming Filename or Path and
// ClassId). Image paths are relative to `base`. `expected` >= 0: every row must have it.
void read_gtsrb_csv(const fs::path& csv, const fs::path& base, int64_t expected,
                    std::vector<ImageFile>& files) {
  std::ifstream in(csv);
  FG_CHECK(in, DatasetError, csv.string(), ": cannot open");
  std::string header;
  FG_CHECK(static_cast<bool>(std::getline(in, header)), DatasetError, csv.string(), ": empty file");
  char sep = header.find(';') != std::string::npos ? ';' : ',';
  auto cols = split_line(header, sep);
  auto column = [&](std::initializer_list<const char*> names) -> size_t {
    for (const char* n : names) {
      auto it = std::find(cols.begin(), cols.end(), n);
      if (it != cols.end()) return static_cast<size_t>(it - cols.begin());
    }
    FG_FAIL(DatasetError, csv.string(), ":1: no ", *names.begin(),
            " column in the header (expected GTSRB's Filename;...;ClassId or Train.csv's "
            "...,ClassId,Path)");
  };
  size_t file_col = column({"Filename", "Path"});
  size_t class_col = column({"ClassId"});
  int line_no = 1;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.empty() || line == "\r") continue;
    auto cells = split_line(line, sep);
    FG_CHECK(cells.size() == cols.size(), DatasetError, csv.string(), ":", line_no, ": ",
             cells.size(), " fields where the header has ", cols.size(), " (truncated file?)");
    int64_t label = -1;
    try {
      size_t used = 0;
      label = std::stoll(cells[class_col], &used);
      if (used != cells[class_col].size()) label = -1;
    } catch (const std::exception&) {
    }
    FG_CHECK(label >= 0 && label < 1000, DatasetError, csv.string(), ":", line_no, ": ClassId '",
             cells[class_col], "' is not a class number");
    FG_CHECK(expected < 0 || label == expected, DatasetError, csv.string(), ":", line_no,
             ": ClassId ", label, " in the folder of class ", expected, " (mislabelled file)");
    fs::path p = base / cells[file_col];
    FG_CHECK(path_exists(p), DatasetError, csv.string(), ":", line_no, ": image ", p.string(),
             " does not exist");
    files.push_back({p, label});
  }
}

bool is_image(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  for (const char* e :
       {".png", ".jpg", ".jpeg", ".ppm", ".pgm", ".pbm", ".bmp", ".tif", ".tiff", ".webp"})
    if (ext == e) return true;
  return false;
}

std::vector<std::string> sorted_subfolders(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory()) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// The images of each class sub-folder of `dir`, classes numbered in the order of `classes`.
std::vector<ImageFile> class_folder_files(const fs::path& dir,
                                          const std::vector<std::string>& classes) {
  std::vector<ImageFile> files;
  for (const auto& name : sorted_subfolders(dir)) {
    auto it = std::find(classes.begin(), classes.end(), name);
    FG_CHECK(it != classes.end(), DatasetError, (dir / name).string(),
             ": class folder not present in the training set's classes");
    std::vector<fs::path> paths;
    for (const auto& e : fs::recursive_directory_iterator(dir / name))
      if (e.is_regular_file() && is_image(e.path())) paths.push_back(e.path());
    std::sort(paths.begin(), paths.end());
    for (auto& p : paths) files.push_back({p, it - classes.begin()});
  }
  return files;
}

}  // namespace

DatasetSplits load_gtsrb(const std::string& dir, const DatasetOptions& o) {
  fs::path root(dir);
  if (path_exists(root / "GTSRB" / "Final_Training")) root /= "GTSRB";
  std::vector<ImageFile> files;
  fs::path official = root / "Final_Training" / "Images";
  if (is_folder(official)) {
    auto folders = sorted_subfolders(official);
    FG_CHECK(!folders.empty(), DatasetError, official.string(), ": no class folders (00000 ...)");
    for (const auto& name : folders) {
      int64_t cls = -1;
      try {
        cls = std::stoll(name);
      } catch (const std::exception&) {
      }
      FG_CHECK(cls >= 0, DatasetError, (official / name).string(),
               ": class folders are named by number (00000 ... 00042)");
      fs::path csv = official / name / ("GT-" + name + ".csv");
      FG_CHECK(path_exists(csv), DatasetError, csv.string(),
               ": missing (each class folder has its "
               "GT-000NN.csv annotation file)");
      read_gtsrb_csv(csv, official / name, cls, files);
    }
  } else {
    fs::path csv = root / "Train.csv";
    FG_CHECK(
        path_exists(csv), DatasetError, dir,
        ": not a GTSRB folder (expected Final_Training/Images/000NN/GT-000NN.csv or Train.csv)");
    read_gtsrb_csv(csv, root, -1, files);
  }
  FG_CHECK(!files.empty(), DatasetError, dir, ": no images listed");
  int64_t classes = 0;
  for (const auto& f : files) classes = std::max(classes, f.label + 1);
  LabelledImages all = make_set(files, classes, o, 3, dir);
  return split(all, o.test_fraction, o.split_seed);
}

DatasetSplits load_image_folder(const std::string& dir, const DatasetOptions& o) {
  fs::path root(dir);
  FG_CHECK(is_folder(root), DatasetError, dir, ": not a folder");
  bool has_splits = is_folder(root / "train") && is_folder(root / "test");
  fs::path train_dir = has_splits ? root / "train" : root;
  auto classes = sorted_subfolders(train_dir);
  FG_CHECK(!classes.empty(), DatasetError, train_dir.string(),
           ": no class sub-folders (expected one folder of images per class)");
  auto files = class_folder_files(train_dir, classes);
  std::vector<int64_t> per_class(classes.size(), 0);
  for (const auto& f : files) ++per_class[static_cast<size_t>(f.label)];
  for (size_t i = 0; i < classes.size(); ++i) {
    FG_CHECK(per_class[i] > 0, DatasetError, (train_dir / classes[i]).string(),
             ": no image files (png, jpg, ppm, pgm, bmp, tif, webp)");
  }
  auto n = static_cast<int64_t>(classes.size());
  DatasetSplits s;
  if (has_splits) {
    s.train = make_set(files, n, o, o.channels, train_dir.string());
    auto test_files = class_folder_files(root / "test", classes);
    FG_CHECK(!test_files.empty(), DatasetError, (root / "test").string(), ": no images");
    s.test = make_set(test_files, n, o, o.channels, (root / "test").string());
  } else {
    s = split(make_set(files, n, o, o.channels, dir), o.test_fraction, o.split_seed);
  }
  s.train.class_names = s.test.class_names = classes;
  return s;
}

}  // namespace fg
