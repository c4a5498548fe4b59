#include "faultgraph/fault/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "faultgraph/core/error.h"
#include "faultgraph/models/seed_inception.h"
#include "test_util.h"

namespace fg {
namespace {

std::string seed_config_path() {
  // The seed's file, as shipped in shared/seed; CTest runs from the build tree.
  for (const char* p : {"../shared/seed/Fault_injection_config_file.yml",
                        FG_SOURCE_DIR "/../shared/seed/Fault_injection_config_file.yml",
                        FG_SOURCE_DIR "/examples/seed_faults.yml"}) {
    if (std::ifstream(p).good()) return p;
  }
  return FG_SOURCE_DIR "/examples/seed_faults.yml";
}

TEST(FaultConfig, SeedFileIsAcceptedAndItsInvalidEntriesExplained) {
  Graph g = seed_inception_model();
  FaultConfig c = load_fault_config(seed_config_path(), g);
  ASSERT_EQ(c.entries.size(), 6U);
  for (int i : {0, 1, 2, 3}) EXPECT_TRUE(c.entries[i].fault.has_value()) << c.entries[i].error;
  EXPECT_TRUE(c.entries[0].fault->spec.random_bit);
  EXPECT_EQ(c.entries[3].fault->spec.bits, std::vector<int>{31});
  EXPECT_EQ(c.entries[3].fault->site.node, "conv2d_2");
  for (int i : {4, 5}) {
    EXPECT_FALSE(c.entries[i].fault.has_value());
    EXPECT_NE(c.entries[i].error.find("entry " + std::to_string(i + 1) +
                                      ": bit_number: 64 is outside 0..31 (values are fp32"),
              std::string::npos)
        << c.entries[i].error;
  }
}

TEST(FaultConfig, UnknownLayerSuggestsClosest) {
  Graph g = seed_inception_model();
  FaultConfig c = parse_fault_config(
      "- {layer_name: conv2d_9, fault_type: BitFlip, bit_flip_type: RandomBit}\n", "f.yml", g);
  ASSERT_EQ(c.entries.size(), 1U);
  EXPECT_NE(c.entries[0].error.find("f.yml:1: entry 1: layer_name: no layer named 'conv2d_9' in "
                                    "the model; did you mean 'conv2d_1'"),
            std::string::npos)
      << c.entries[0].error;
}

// A number past the type's range is named as out of range (was "expected an integer").
TEST(FaultConfig, NumberOutOfRangeIsNamedSo) {
  Graph g = seed_inception_model();
  FaultConfig c = parse_fault_config(
      "- {layer_name: conv2d_2, fault_type: BitFlip, bit_flip_type: SpecificBit, "
      "bit_number: 99999999999999999999}\n",
      "f.yml", g);
  ASSERT_EQ(c.entries.size(), 1U);
  EXPECT_NE(c.entries[0].error.find(
                "f.yml:1: entry 1: bit_number: 99999999999999999999 is out of range (an integer "
                "of at most 2147483647)"),
            std::string::npos)
      << c.entries[0].error;
}

TEST(FaultConfig, TabIndentIsNamed) {
  Graph g = seed_inception_model();
  try {
    parse_fault_config("- layer_name: conv2d_2\n\tfault_type: BitFlip\n", "t.yml", g);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(
        std::string(e.what()).find("line 2 indents with a tab; YAML indents with spaces only"),
        std::string::npos)
        << e.what();
  }
}

TEST(FaultConfig, ExtendedSchema) {
  Graph g = seed_inception_model();
  FaultConfig c = parse_fault_config(R"(
seed: 77
faults:
  - name: weight-msb
    node: conv2d_3/conv
    site: weight
    fault: stuck_at_1
    bits: [30]
    count: 2
  - node: concatenate
    site: input
    index: 2
    fault: bit_flip
    random_bit: true
    adjacent: 2
    format: fp16
    probability: 0.01
    per_sample: true
  - node: input_3
    site: model_input
    fault: random_value
    range: [-1, 1]
    coordinates: [0, 5]
  - node: dense_1
    fault: bit_flip
    bit: 16
    format: int8
)",
                                     "x.yml", g);
  ASSERT_EQ(c.seed, 77U);
  ASSERT_EQ(c.entries.size(), 4U);
  EXPECT_EQ(c.entries[0].label, "weight-msb");
  ASSERT_TRUE(c.entries[0].fault) << c.entries[0].error;
  EXPECT_EQ(c.entries[0].fault->site.kind, SiteKind::kWeight);
  EXPECT_EQ(c.entries[0].fault->spec.selection, Selection::kCount);
  EXPECT_EQ(c.entries[0].fault->spec.seed, 77U);
  ASSERT_TRUE(c.entries[1].fault) << c.entries[1].error;
  EXPECT_EQ(c.entries[1].fault->site.index, 2);
  EXPECT_EQ(c.entries[1].fault->spec.format, NumberFormat::kFp16);
  ASSERT_TRUE(c.entries[2].fault) << c.entries[2].error;
  EXPECT_EQ(c.entries[2].fault->spec.coordinates, (std::vector<int64_t>{0, 5}));
  EXPECT_FALSE(c.entries[3].fault);
  EXPECT_NE(c.entries[3].error.find("bit: 16 is outside 0..7 (int8 values have 8 bits"),
            std::string::npos)
      << c.entries[3].error;
}

TEST(FaultConfig, MalformedFilesAreConfigErrors) {
  Graph g = seed_inception_model();
  EXPECT_THROW(parse_fault_config("- [unclosed", "bad.yml", g), ConfigError);
  EXPECT_THROW(parse_fault_config("just text", "bad.yml", g), ConfigError);
  EXPECT_THROW(parse_fault_config("sed: 1\nfaults: []\n", "bad.yml", g), ConfigError);
  EXPECT_THROW(load_fault_config("/nonexistent.yml", g), ConfigError);
  FaultConfig c = parse_fault_config("- {layer_name: conv2d_1, fault_typo: BitFlip}\n", "t.yml", g);
  EXPECT_NE(c.entries[0].error.find("unknown key 'fault_typo'; did you mean 'fault_type'?"),
            std::string::npos)
      << c.entries[0].error;
  // A key of the other format is named as such (was "unknown key 'bit'; did you mean 'bit'?").
  c = parse_fault_config(
      "- {layer_name: conv2d_1, fault_type: BitFlip, bit_flip_type: SpecificBit, bit: 3}\n"
      "- {node: conv2d_1, bit_number: 3}\n",
      "t.yml", g);
  EXPECT_NE(c.entries[0].error.find("'bit' is a key of the extended format, and this entry is "
                                    "in the seed's"),
            std::string::npos)
      << c.entries[0].error;
  EXPECT_NE(c.entries[0].error.find("bit_flip_type: SpecificBit with bit_number"),
            std::string::npos);
  EXPECT_NE(c.entries[1].error.find("'bit_number' is a key of the seed's format"),
            std::string::npos)
      << c.entries[1].error;
  EXPECT_NE(c.entries[1].error.find("a bit is bit: N"), std::string::npos);
}

}  // namespace
}  // namespace fg
