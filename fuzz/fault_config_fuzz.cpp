// The fault config parser (the seed's YAML and the extended schema) against the seed's
// model, whose layer names the entries may name.
#include "faultgraph/fault/config.h"
#include "faultgraph/models/zoo.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fg::Graph model = [] {
    fg::ModelOptions o;
    o.channels = 1;
    o.height = o.width = 28;
    o.classes = 10;
    return fg::build_model("seed_inception", o);
  }();
  return fg::fuzz::expect_clean([&] {
    fg::parse_fault_config(std::string(reinterpret_cast<const char*>(data), size), "fuzz.yml",
                           model);
  });
}
