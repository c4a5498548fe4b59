// The campaign spec parser (YAML, every key checked).
#include "faultgraph/campaign/spec.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fg::fuzz::expect_clean([&] {
    fg::parse_campaign_spec(std::string(reinterpret_cast<const char*>(data), size), "fuzz.yml");
  });
}
