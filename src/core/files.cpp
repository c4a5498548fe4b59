#include "faultgraph/core/files.h"

#include <cstdio>
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

}  // namespace fg
