// Shared by the libFuzzer targets (scripts/fuzz): bad input must end in a faultgraph Error
// (the one-line message the CLI prints, exit 2); anything else that escapes (another
// exception, a crash, a sanitizer report, an allocation past libFuzzer's limit) is a bug.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "faultgraph/core/error.h"

namespace fg::fuzz {

// A folder of this process's own under the temporary folder, emptied and made again.
inline std::filesystem::path scratch(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("fg-fuzz-" + std::to_string(::getpid()) + "-" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline void write_file(const std::filesystem::path& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

// Runs `f`; a faultgraph Error (bad input, reported) is the expected way to fail.
template <class F>
int expect_clean(F&& f) {
  try {
    f();
  } catch (const fg::InternalError&) {
    throw;  // "internal error (please report)": a bug
  } catch (const fg::Error&) {
  }
  return 0;
}

}  // namespace fg::fuzz
