// Fault configuration files (YAML). Two forms, which may be mixed in one list:
//
//  - InjectTFParallel's own entries, accepted unchanged:
//      - layer_name: conv2d_2
//        fault_type: BitFlip
//        bit_flip_type: RandomBit | SpecificBit
//        bit_number: 31          # SpecificBit only; 0..31 for fp32
//        probability: 1.0
//  - faultgraph's extended entries (all of FaultSpec and FaultSite), see docs/faults.md.
//
// The file may be that list itself, or a map with `seed:` and `faults:` (the list).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "faultgraph/fault/insert_faults.h"
#include "faultgraph/ir/graph.h"

namespace fg {

struct FaultConfigEntry {
  int index = 0;                      // 1-based position in the list
  int line = 0;                       // 1-based line in the file
  std::string label;                  // `name:` or a description of the site
  std::optional<PlannedFault> fault;  // set when the entry is valid
  std::string error;                  // otherwise: one line naming the entry, the key and the fix
};

struct FaultConfig {
  uint64_t seed = 0;
  std::vector<FaultConfigEntry> entries;
};

// Reads `path` and checks every entry against `g` (node names, input indices). A file that
// cannot be read or parsed throws ConfigError naming the file and line; a bad entry does
// not stop the others: it carries its error.
FaultConfig load_fault_config(const std::string& path, const Graph& g);
FaultConfig parse_fault_config(const std::string& yaml_text, const std::string& source,
                               const Graph& g);

}  // namespace fg
