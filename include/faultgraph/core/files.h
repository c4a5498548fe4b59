// Writing result files so that a failure never leaves a half-written one.
#pragma once

#include <string>
#include <string_view>

namespace fg {

// Writes `bytes` to a temporary file beside `path` and renames it over `path` once complete.
// Throws UsageError naming the path when it cannot.
void write_file_atomic(const std::string& path, std::string_view bytes);

// Creates the output folder `dir` (and its parents) and checks that files can be written
// in it, before any work is done. UsageError naming the path and the fix otherwise (an
// existing file, /dev/null, /proc/..., an empty name, no permission).
void prepare_output_dir(const std::string& dir);

// Checks, before any work, that `path` can be written later: not a folder, not a device,
// its folder exists (created if needed) and is writable. UsageError naming it otherwise.
void check_output_file(const std::string& path);

}  // namespace fg
