// Dataset loaders on small files the tests write in each format (CIFAR-10 binary batches,
// GTSRB in both layouts, image folders), their corrupt-file errors, format detection,
// splits and normalisation.
#include "faultgraph/data/dataset.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "faultgraph/core/error.h"
#include "test_util.h"

namespace fg {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  auto dir = test::temp_path(name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// A solid image whose colour encodes the class: red, green or blue (written as BGR).
void write_image(const fs::path& p, int cls, int w = 40, int h = 35) {
  cv::Scalar bgr = cls == 0   ? cv::Scalar(0, 0, 255)
                   : cls == 1 ? cv::Scalar(0, 255, 0)
                              : cv::Scalar(255, 0, 0);
  fs::create_directories(p.parent_path());
  ASSERT_TRUE(cv::imwrite(p.string(), cv::Mat(h, w, CV_8UC3, bgr)));
}

// Each image must have the colour of its label: RGB order and label association intact.
void expect_colours_match_labels(const LabelledImages& d) {
  at::Tensor mean = d.images.mean({2, 3});  // N x 3
  EXPECT_TRUE(at::equal(mean.argmax(1), d.labels)) << d.source;
  EXPECT_NEAR(mean.max().item<float>(), 1.0F, 1e-6);
}

// ------------------------------------------------------------------------------ CIFAR-10

void write_cifar_batch(const fs::path& p, int records, int first_label) {
  std::string bytes;
  for (int r = 0; r < records; ++r) {
    bytes += static_cast<char>((first_label + r) % 10);
    for (int c = 0; c < 3; ++c) bytes += std::string(1024, static_cast<char>(c * 100 + r));
  }
  std::ofstream(p, std::ios::binary) << bytes;
}

fs::path cifar_dir() {
  auto dir = fresh_dir("cifar");
  for (int i = 1; i <= 5; ++i)
    write_cifar_batch(dir / ("data_batch_" + std::to_string(i) + ".bin"), 2, i);
  write_cifar_batch(dir / "test_batch.bin", 3, 7);
  std::ofstream(dir / "batches.meta.txt")
      << "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";
  return dir;
}

TEST(Cifar10, ReadsBinaryBatches) {
  DatasetSplits s = load_dataset(cifar_dir().string());  // detected
  EXPECT_EQ(s.train.images.sizes(), (at::IntArrayRef{10, 3, 32, 32}));
  EXPECT_EQ(s.test.images.sizes(), (at::IntArrayRef{3, 3, 32, 32}));
  EXPECT_TRUE(at::equal(s.test.labels, at::tensor(std::vector<int64_t>{7, 8, 9})));
  // Channel planes in R, G, B order; pixel value c * 100 + record.
  EXPECT_FLOAT_EQ(s.test.images[2][1][5][7].item<float>(), 102 / 255.0F);
  EXPECT_FLOAT_EQ(s.test.images[1][2][31][31].item<float>(), 201 / 255.0F);
  EXPECT_EQ(s.train.classes, 10);
  ASSERT_EQ(s.train.class_names.size(), 10U);
  EXPECT_EQ(s.train.class_names[3], "cat");
}

TEST(Cifar10, TruncatedFilesAndBadLabelsNameTheFile) {
  auto dir = cifar_dir();
  fs::resize_file(dir / "data_batch_3.bin", 3073 * 2 - 10);
  std::string e = error_of([&] { load_cifar10(dir.string()); });
  EXPECT_NE(e.find("data_batch_3.bin"), std::string::npos) << e;
  EXPECT_NE(e.find("not a whole number"), std::string::npos) << e;

  dir = cifar_dir();
  std::string bytes(3073, '\0');
  bytes[3073 - 3073] = 12;
  std::ofstream(dir / "test_batch.bin", std::ios::binary) << bytes;
  e = error_of([&] { load_cifar10(dir.string()); });
  EXPECT_NE(e.find("test_batch.bin: record 0 has label 12"), std::string::npos) << e;

  fs::remove(dir / "data_batch_5.bin");
  e = error_of([&] { load_cifar10(dir.string()); });
  EXPECT_NE(e.find("data_batch_5.bin: cannot open"), std::string::npos) << e;
}

// -------------------------------------------------------------------------------- GTSRB

// Official layout: Final_Training/Images/000NN/GT-000NN.csv with .ppm images.
fs::path gtsrb_official(int per_class = 4) {
  auto dir = fresh_dir("gtsrb_official");
  for (int c = 0; c < 3; ++c) {
    char folder[8];
    std::snprintf(folder, sizeof folder, "%05d", c);
    fs::path cls = dir / "GTSRB" / "Final_Training" / "Images" / folder;
    fs::create_directories(cls);
    std::ofstream out(cls / ("GT-" + std::string(folder) + ".csv"));
    out << "Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n";
    for (int i = 0; i < per_class; ++i) {
      std::string name = "0000" + std::to_string(i) + "_00000.ppm";
      write_image(cls / name, c, 30 + 3 * i, 31 + i);
      out << name << ";40;35;5;5;35;30;" << c << "\n";
    }
  }
  return dir;
}

TEST(Gtsrb, OfficialLayoutResizedAndSplit70To30WithASeed) {
  auto dir = gtsrb_official(10);
  DatasetSplits s = load_dataset(dir.string());  // detected through GTSRB/Final_Training
  EXPECT_EQ(s.test.size(), 9);                   // 30% of 30
  EXPECT_EQ(s.train.size(), 21);
  EXPECT_EQ(s.train.images.sizes(), (at::IntArrayRef{21, 3, 32, 32}));
  EXPECT_EQ(s.train.classes, 3);
  expect_colours_match_labels(s.train);
  expect_colours_match_labels(s.test);

  DatasetSplits again = load_gtsrb(dir.string());
  EXPECT_TRUE(at::equal(again.test.labels, s.test.labels));
  EXPECT_TRUE(at::equal(again.test.images, s.test.images));
  DatasetOptions other;
  other.split_seed = 7;
  other.image_size = 16;
  DatasetSplits reseeded = load_gtsrb(dir.string(), other);
  EXPECT_EQ(reseeded.test.images.sizes(), (at::IntArrayRef{9, 3, 16, 16}));
  EXPECT_FALSE(at::equal(reseeded.test.labels, s.test.labels) &&
               at::equal(reseeded.train.labels, s.train.labels));
}

TEST(Gtsrb, MislabelledMissingAndCorruptFilesAreNamed) {
  auto dir = gtsrb_official();
  fs::path cls = dir / "GTSRB" / "Final_Training" / "Images" / "00001";
  {
    std::ofstream out(cls / "GT-00001.csv", std::ios::app);
    out << "00000_00000.ppm;40;35;5;5;35;30;2\n";
  }
  std::string e = error_of([&] { load_gtsrb(dir.string()); });
  EXPECT_NE(e.find("GT-00001.csv:6: ClassId 2 in the folder of class 1 (mislabelled file)"),
            std::string::npos)
      << e;

  dir = gtsrb_official();
  cls = dir / "GTSRB" / "Final_Training" / "Images" / "00002";
  fs::remove(cls / "00001_00000.ppm");
  e = error_of([&] { load_gtsrb(dir.string()); });
  EXPECT_NE(e.find("GT-00002.csv:3: image"), std::string::npos) << e;
  EXPECT_NE(e.find("does not exist"), std::string::npos) << e;

  dir = gtsrb_official();
  cls = dir / "GTSRB" / "Final_Training" / "Images" / "00000";
  fs::resize_file(cls / "00002_00000.ppm", 20);
  e = error_of([&] { load_gtsrb(dir.string()); });
  EXPECT_NE(e.find("00002_00000.ppm: cannot be read as an image"), std::string::npos) << e;

  dir = gtsrb_official();
  cls = dir / "GTSRB" / "Final_Training" / "Images" / "00000";
  std::ofstream(cls / "GT-00000.csv", std::ios::app) << "00001_00000.ppm;40;35\n";
  e = error_of([&] { load_gtsrb(dir.string()); });
  EXPECT_NE(e.find("GT-00000.csv:6: 3 fields where the header has 8"), std::string::npos) << e;
}

TEST(Gtsrb, TrainCsvLayout) {
  auto dir = fresh_dir("gtsrb_kaggle");
  std::ofstream csv(dir / "Train.csv");
  csv << "Width,Height,Roi.X1,Roi.Y1,Roi.X2,Roi.Y2,ClassId,Path\n";
  for (int c = 0; c < 3; ++c) {
    for (int i = 0; i < 5; ++i) {
      std::string rel = "Train/" + std::to_string(c) + "/0000" + std::to_string(c) + "_0000" +
                        std::to_string(i) + ".png";
      write_image(dir / rel, c);
      csv << "40,35,5,5,35,30," << c << "," << rel << "\n";
    }
  }
  csv.close();
  DatasetSplits s = load_dataset("gtsrb:" + dir.string());
  EXPECT_EQ(s.train.size() + s.test.size(), 15);
  EXPECT_EQ(s.test.size(), 5);  // round(0.3 * 15) = 4.5 -> 5
  expect_colours_match_labels(s.train);
  expect_colours_match_labels(s.test);
}

// ------------------------------------------------------------------------- image folders

TEST(ImageFolder, OneSubFolderPerClassWithOrWithoutSplits) {
  auto dir = fresh_dir("folder_flat");
  const char* names[] = {"apple", "banana", "cherry"};
  for (int c = 0; c < 3; ++c) {
    for (int i = 0; i < 4; ++i) write_image(dir / names[c] / (std::to_string(i) + ".png"), c);
  }
  std::ofstream(dir / "banana" / "notes.txt") << "not an image, skipped";
  DatasetSplits s = load_dataset(dir.string());
  EXPECT_EQ(s.train.size() + s.test.size(), 12);
  EXPECT_EQ(s.train.class_names, (std::vector<std::string>{"apple", "banana", "cherry"}));
  expect_colours_match_labels(s.train);

  auto split_dir = fresh_dir("folder_split");
  for (int c = 0; c < 3; ++c) {
    write_image(split_dir / "train" / names[c] / "a.jpg", c);
    write_image(split_dir / "train" / names[c] / "b.bmp", c);
  }
  write_image(split_dir / "test" / "cherry" / "c.ppm", 2);
  DatasetOptions grey;
  grey.channels = 1;
  grey.image_size = 8;
  s = load_dataset("folder:" + split_dir.string(), grey);
  EXPECT_EQ(s.train.images.sizes(), (at::IntArrayRef{6, 1, 8, 8}));
  EXPECT_EQ(s.test.size(), 1);
  EXPECT_EQ(s.test.labels[0].item<int64_t>(), 2);
  EXPECT_EQ(s.test.classes, 3);
}

TEST(ImageFolder, EmptyClassesAndUnknownTestClassesAreErrors) {
  auto dir = fresh_dir("folder_bad");
  write_image(dir / "a" / "0.png", 0);
  fs::create_directories(dir / "b");
  std::string e = error_of([&] { load_image_folder(dir.string()); });
  EXPECT_NE(e.find("/b: no image files"), std::string::npos) << e;

  auto split_dir = fresh_dir("folder_bad_split");
  write_image(split_dir / "train" / "a" / "0.png", 0);
  write_image(split_dir / "test" / "z" / "0.png", 0);
  e = error_of([&] { load_image_folder(split_dir.string()); });
  EXPECT_NE(e.find("test/z: class folder not present"), std::string::npos) << e;
}

// --------------------------------------------------------------------- specs and helpers

TEST(Dataset, SpecsAndDetection) {
  EXPECT_THROW(load_dataset("/nonexistent/data"), DatasetError);
  std::string e = error_of([&] { load_dataset("imagenet:" + cifar_dir().string()); });
  EXPECT_NE(e.find("unknown format 'imagenet'"), std::string::npos) << e;
  auto empty = fresh_dir("empty_ds");
  std::ofstream(empty / "readme.txt") << "x";
  EXPECT_THROW(load_dataset(empty.string()), DatasetError);  // a folder without class folders
  // A format with no path after it (was "gtsrb:: no such file or folder" with an empty name).
  e = error_of([&] { load_dataset("gtsrb:"); });
  EXPECT_NE(e.find("'gtsrb:' names no folder; give a dataset folder, FORMAT:PATH"),
            std::string::npos)
      << e;
}

TEST(Dataset, FashionMnistByNameHasClassNames) {
  if (!fs::exists(kFashionMnistDir)) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  DatasetSplits s = load_dataset("fashion-mnist");
  EXPECT_EQ(s.train.size(), 60000);
  EXPECT_EQ(s.test.size(), 10000);
  ASSERT_EQ(s.test.class_names.size(), 10U);
  EXPECT_EQ(s.test.class_names[9], "Ankle boot");
}

TEST(Dataset, SplitSubsetAndNormalize) {
  LabelledImages d;
  d.images = at::arange(40, at::kFloat).reshape({10, 1, 2, 2});
  d.labels = at::arange(10, at::kLong);
  d.classes = 10;
  DatasetSplits s = split(d, 0.3, 1);
  EXPECT_EQ(s.test.size(), 3);
  EXPECT_EQ(s.train.size(), 7);
  at::Tensor all = std::get<0>(at::cat({s.train.labels, s.test.labels}).sort());
  EXPECT_TRUE(at::equal(all, d.labels));  // a partition
  EXPECT_THROW(split(d, 1.0, 1), UsageError);

  auto [mean, std] = channel_statistics(d);
  normalize(d, mean, std);
  EXPECT_NEAR(d.images.mean().item<float>(), 0.0F, 1e-5);
  EXPECT_NEAR(d.images.std().item<float>(), 1.0F, 1e-5);
  EXPECT_THROW(normalize(d, at::zeros({2}), at::ones({2})), UsageError);
}

}  // namespace
}  // namespace fg
