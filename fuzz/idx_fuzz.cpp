// IDX files (MNIST's format), plain or gzip: the magic number and dims are checked against
// the file's size before anything is allocated.
#include "faultgraph/data/idx.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto dir = fg::fuzz::scratch("idx");
  const auto path = dir / "input-idx3-ubyte";
  fg::fuzz::write_file(path, data, size);
  return fg::fuzz::expect_clean([&] { (void)fg::read_idx(path.string()); });
}
