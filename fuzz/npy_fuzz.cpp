// NumPy .npy files (header, dtype, shape, data size).
#include "faultgraph/io/npy.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto dir = fg::fuzz::scratch("npy");
  const auto path = dir / "input.npy";
  fg::fuzz::write_file(path, data, size);
  return fg::fuzz::expect_clean([&] { (void)fg::read_npy(path.string()); });
}
