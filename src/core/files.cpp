#include "faultgraph/core/files.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "faultgraph/core/error.h"

namespace fg {

void write_file_atomic(const std::string& path, std::string_view bytes) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    FG_CHECK(f.good(), UsageError, path, ": cannot open for writing");
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.close();
    if (!f.good()) {
      std::remove(tmp.c_str());
      FG_FAIL(UsageError, path, ": write failed (disk full?)");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    FG_FAIL(UsageError, path, ": cannot replace the file");
  }
}

void prepare_output_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  FG_CHECK(!dir.empty(), UsageError, "the output folder name is empty");
  std::error_code ec;
  fs::path p(dir);
  if (fs::exists(p, ec)) {
    FG_CHECK(fs::is_directory(p, ec), UsageError, dir,
             ": exists and is not a folder; name a folder for the results");
  } else {
    fs::create_directories(p, ec);
    FG_CHECK(!ec, UsageError, dir, ": cannot create the output folder (", ec.message(), ")");
  }
  std::string probe = (p / (".faultgraph-write-test-" + std::to_string(::getpid()))).string();
  {
    std::ofstream f(probe);
    FG_CHECK(f.good(), UsageError, dir, ": cannot write into the output folder");
  }
  std::remove(probe.c_str());
}

void check_output_file(const std::string& path) {
  namespace fs = std::filesystem;
  FG_CHECK(!path.empty(), UsageError, "the output file name is empty");
  std::error_code ec;
  fs::path p(path);
  if (fs::exists(p, ec)) {
    FG_CHECK(!fs::is_directory(p, ec), UsageError, path, ": is a folder; name a file");
    FG_CHECK(fs::is_regular_file(p, ec), UsageError, path,
             ": is not a regular file (a device or a pipe); name a file");
  }
  fs::path dir = p.parent_path();
  prepare_output_dir(dir.empty() ? std::string(".") : dir.string());
}

}  // namespace fg
