#include "faultgraph/io/npy.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace fg
