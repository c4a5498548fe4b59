// Campaign specifications (YAML; docs/campaigns.md): which model, which inputs, which fault
// sites, which fault model, how many trials and how they are sampled.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "faultgraph/data/dataset.h"
#include "faultgraph/fault/fault_model.h"
#include "faultgraph/fault/insert_faults.h"

namespace fg {

// A set of fault sites: nodes chosen by name (glob) and/or op type, and which of their
// tensors is corrupted.
struct TargetSpec {
  std::string node = "*";  // glob over node names (fnmatch: `*` also matches `/`)
  std::string op;          // op type (ONNX name, e.g. Conv); empty: any
  SiteKind site = SiteKind::kActivation;
  int index = -1;  // activation: output index (-1: 0); input_edge: input index (-1: every
                   // runtime input); unused for weight, bias and model_input
  int line = 0;
};

struct InputSpec {
  std::string split = "test";
  int64_t count = 100;
  bool random = false;       // a seeded sample of the split instead of its first images
  bool correct_only = true;  // only inputs the fault-free model classifies correctly
};

enum class SamplingMode { kUniform, kStratified };
enum class StrataBy { kLayer, kBit, kLayerBit };

struct SamplingSpec {
  SamplingMode mode = SamplingMode::kUniform;
  StrataBy by = StrataBy::kLayer;
  int64_t trials = 0;  // a fixed number of trials; 0: Leveugle's statistical plan
  double margin = 0.01;
  double confidence = 0.95;
  double t = 0;  // normal quantile; 0: from `confidence`
  double p = 0.5;
};

struct CampaignSpec {
  std::string source;  // the file (for messages)
  std::string text;    // its text, stored with the results
  std::string model;   // ONNX file or built-in architecture name
  std::string dataset = "fashion-mnist";
  DatasetOptions dataset_options;  // image_size, channels, test_fraction, split_seed
  InputSpec inputs;
  std::vector<TargetSpec> targets;
  // Kind, bits (empty: every bit of the format), format, scale and zero point, value/range.
  // Its selection is unused: a trial corrupts `elements` elements.
  FaultSpec fault;
  int64_t elements = 1;
  SamplingSpec sampling;
  uint64_t seed = 1;
  std::string faults_file;    // a fault list (CSV) to replay instead of sampling
  std::string faults_text;    // that list's contents (read by load_campaign_spec, relative
                              // to the spec's folder)
  std::string faults_digest;  // and their hash

  // Everything that decides the trials and their results, as JSON with sorted keys; two
  // specs with the same canonical form give the same campaign (paths to the model and the
  // dataset are left out: their contents are hashed separately).
  std::string canonical() const;
  double t_value() const;
  // Bits of the population: spec.fault.bits, or every bit of the format; {-1} for
  // value faults (no bit).
  std::vector<int> population_bits() const;
};

std::string site_kind_name(SiteKind k);
bool site_kind_from_name(const std::string& name, SiteKind& out);

// Reads and checks a spec. ConfigError naming the file, line and key, with the fix.
CampaignSpec load_campaign_spec(const std::string& path);
CampaignSpec parse_campaign_spec(const std::string& yaml_text, const std::string& source);

}  // namespace fg
