// Helpers for the tests: reference-data paths, tiny graphs, tensor comparison.
#pragma once

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "faultgraph/ir/graph.h"

namespace fg::test {

inline std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}

// The reference data of one kind ("ops", "models", "faults", "train") that
// scripts/make_reference.py writes. CTest sets FG_REFDATA_DIR and makes the data first (its
// refdata.* fixtures); run by hand, the binaries use the default cache. Where it is missing,
// this throws, so that the test fails naming the fix (gtest reports the exception) instead
// of reading an empty model (a test that edited its first node crashed).
inline std::filesystem::path refdata(const std::string& sub) {
  const auto dir = std::filesystem::path(env_or(
                       "FG_REFDATA_DIR", env_or("HOME", "") + "/.cache/faultgraph/refdata")) /
                   sub;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec) || std::filesystem::is_empty(dir, ec))
    throw std::runtime_error(dir.string() +
                             ": reference data missing; run scripts/test once (CTest makes it), "
                             "or /usr/bin/python3 scripts/make_reference.py " +
                             sub + " " + dir.string());
  return dir;
}

// max |a - b| / max |b|, the relative error the acceptance criteria use.
inline double relative_error(const at::Tensor& a, const at::Tensor& b) {
  double scale = std::max(b.abs().max().item<double>(), 1e-30);
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>() / scale;
}

inline std::filesystem::path temp_path(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("fg_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir / name;
}

// True when onnx.checker (full check, Debian's python3-onnx) accepts the file.
inline bool onnx_checker_accepts(const std::filesystem::path& path) {
  std::string cmd = env_or("FG_PYTHON", "/usr/bin/python3") +
                    " -c \"import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), "
                    "full_check=True)\" '" +
                    path.string() + "'";
  return std::system(cmd.c_str()) == 0;
}

}  // namespace fg::test
