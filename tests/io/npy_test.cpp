#include "faultgraph/io/npy.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "faultgraph/core/error.h"
#include "faultgraph/exec/executor.h"
#include "test_util.h"

namespace fg {
namespace {

TEST(Npy, RoundTripsTypesAndShapes) {
  for (auto t : {at::randn({2, 3, 5}), at::randn({7}), at::arange(12, at::kLong).reshape({3, 4}),
                 at::scalar_tensor(3.5), at::randn({4, 1}).to(at::kHalf)}) {
    auto p = test::temp_path("t.npy");
    write_npy(t, p.string());
    at::Tensor back = read_npy(p.string());
    EXPECT_TRUE(bitwise_equal(t, back)) << t.sizes();
  }
}

TEST(Npy, ReadsFilesWrittenByNumpy) {
  at::Tensor x = read_npy((test::refdata("ops") / "conv_basic.in0.npy").string());
  EXPECT_EQ(x.sizes(), (at::IntArrayRef{2, 5, 13, 11}));
  EXPECT_EQ(x.scalar_type(), at::kFloat);
}

TEST(Npy, TruncatedAndForeignFilesAreUsageErrors) {
  auto p = test::temp_path("t.npy");
  write_npy(at::randn({10, 10}), p.string());
  std::filesystem::resize_file(p, std::filesystem::file_size(p) - 8);
  try {
    read_npy(p.string());
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("(truncated file?)"), std::string::npos) << e.what();
  }
  std::ofstream(p) << "hello";
  EXPECT_THROW(read_npy(p.string()), UsageError);
}

// What is not an .npy file is named as such at once, whatever it is: a folder, a missing
// file, a device that never ends (/dev/zero was read until memory ran out).
TEST(Npy, FoldersMissingFilesAndDevicesAreNamed) {
  auto message = [](const std::string& path) {
    try {
      read_npy(path);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const auto dir = test::temp_path("a_folder.npy");
  std::filesystem::create_directories(dir);
  EXPECT_EQ(message(dir.string()),
            dir.string() + ": is a folder; name a NumPy .npy file (save one with np.save)");
  EXPECT_EQ(message("/nonexistent/x.npy"), "/nonexistent/x.npy: cannot open: no such file");
  EXPECT_EQ(message("/dev/zero"),
            "/dev/zero: not a NumPy .npy file (save one with np.save) (it does not begin with "
            "the format's signature)");
}

}  // namespace
}  // namespace fg
