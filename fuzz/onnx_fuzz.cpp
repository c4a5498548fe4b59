// The ONNX importer on arbitrary bytes: a Graph that verifies, or a ModelFormatError.
#include "faultgraph/io/onnx.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fg::fuzz::expect_clean([&] {
    fg::Graph g =
        fg::import_onnx_bytes(std::string(reinterpret_cast<const char*>(data), size), "fuzz.onnx");
    (void)g;
  });
}
