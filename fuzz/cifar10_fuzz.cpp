// CIFAR-10's binary batches: the input is every batch file of a CIFAR-10 folder.
#include "faultgraph/data/dataset.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto dir = fg::fuzz::scratch("cifar10");
  for (int i = 1; i <= 5; ++i)
    fg::fuzz::write_file(dir / ("data_batch_" + std::to_string(i) + ".bin"), data, size);
  fg::fuzz::write_file(dir / "test_batch.bin", data, size);
  return fg::fuzz::expect_clean([&] { (void)fg::load_cifar10(dir.string()); });
}
