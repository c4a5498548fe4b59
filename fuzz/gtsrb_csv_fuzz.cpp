// GTSRB's annotation CSV (Train.csv layout: header, separator, columns, paths, class ids);
// the images it names do not exist, so a well-formed file ends in "cannot open" errors.
#include "faultgraph/data/dataset.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto dir = fg::fuzz::scratch("gtsrb");
  fg::fuzz::write_file(dir / "Train.csv", data, size);
  return fg::fuzz::expect_clean([&] { (void)fg::load_gtsrb(dir.string()); });
}
