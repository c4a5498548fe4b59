#include "faultgraph/data/idx.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>

#include "faultgraph/core/error.h"
#include "test_util.h"

namespace fg {
namespace {

std::string idx_bytes(const std::vector<int32_t>& dims, const std::vector<uint8_t>& data) {
  std::string s = {0, 0, 8, static_cast<char>(dims.size())};
  for (int32_t d : dims) {
    for (int shift : {24, 16, 8, 0}) s += static_cast<char>((d >> shift) & 0xff);
  }
  s.append(data.begin(), data.end());
  return s;
}

void write(const std::filesystem::path& p, const std::string& bytes, bool gzip) {
  if (gzip) {
    gzFile f = gzopen(p.c_str(), "wb");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
  } else {
    std::ofstream(p, std::ios::binary) << bytes;
  }
}

std::filesystem::path tiny_dataset(bool gzip, int labels_count = 3) {
  auto dir = test::temp_path(gzip ? "idx_gz" : "idx_plain");
  std::filesystem::create_directories(dir);
  std::string ext = gzip ? ".gz" : "";
  std::vector<uint8_t> pixels(3 * 2 * 2);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 20);
  write(dir / ("t10k-images-idx3-ubyte" + ext), idx_bytes({3, 2, 2}, pixels), gzip);
  std::vector<uint8_t> labels = {4, 0, 9};
  labels.resize(labels_count);
  write(dir / ("t10k-labels-idx1-ubyte" + ext), idx_bytes({labels_count}, labels), gzip);
  return dir;
}

TEST(Idx, ReadsPlainAndGzipFiles) {
  for (bool gzip : {false, true}) {
    LabelledImages d = load_idx_dataset(tiny_dataset(gzip).string(), "test");
    EXPECT_EQ(d.images.sizes(), (at::IntArrayRef{3, 1, 2, 2}));
    EXPECT_FLOAT_EQ(d.images[2][0][1][1].item<float>(), 11 * 20 / 255.0f);
    EXPECT_TRUE(at::equal(d.labels, at::tensor(std::vector<int64_t>{4, 0, 9})));
    EXPECT_EQ(d.classes, 10);
  }
}

TEST(Idx, MismatchedCountsAndTruncationAreDatasetErrors) {
  auto dir = tiny_dataset(false, 2);
  try {
    load_idx_dataset(dir.string(), "test");
    FAIL();
  } catch (const DatasetError& e) {
    EXPECT_NE(std::string(e.what()).find("2 labels for 3 images"), std::string::npos) << e.what();
  }
  auto p = dir / "t10k-images-idx3-ubyte";
  std::filesystem::resize_file(p, std::filesystem::file_size(p) - 3);
  try {
    read_idx(p.string());
    FAIL();
  } catch (const DatasetError& e) {
    EXPECT_NE(std::string(e.what()).find("announces 12 bytes of data (dims 3 x 2 x 2) but the "
                                         "file holds 9; it is truncated"),
              std::string::npos)
        << e.what();
  }
  // A header that claims 0xFFFFFFFF items: refused before any allocation, naming the file.
  {
    std::ofstream out(p, std::ios::binary);
    const unsigned char header[] = {0, 0, 8, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 28, 0, 0, 0, 28};
    out.write(reinterpret_cast<const char*>(header), sizeof header);
    out << std::string(100, '\0');
  }
  try {
    read_idx(p.string());
    FAIL();
  } catch (const DatasetError& e) {
    EXPECT_NE(std::string(e.what()).find(p.string() + ": the header announces"), std::string::npos)
        << e.what();
  }
  std::filesystem::create_directories(dir / "a_folder");
  EXPECT_THROW(read_idx((dir / "a_folder").string()), DatasetError);
  std::ofstream(p) << "not an idx file";
  EXPECT_THROW(read_idx(p.string()), DatasetError);
  EXPECT_THROW(load_idx_dataset("/nonexistent", "test"), DatasetError);
}

TEST(Idx, ReadsDebianFashionMnist) {
  if (!std::filesystem::exists(kFashionMnistDir))
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  LabelledImages d = load_idx_dataset(kFashionMnistDir, "test");
  EXPECT_EQ(d.images.sizes(), (at::IntArrayRef{10000, 1, 28, 28}));
  EXPECT_EQ(d.classes, 10);
  EXPECT_LE(d.images.max().item<float>(), 1.0f);
  // Fashion-MNIST's test split is balanced: 1000 per class.
  EXPECT_TRUE(at::equal(at::bincount(d.labels), at::full({10}, 1000, at::kLong)));
}

}  // namespace
}  // namespace fg
