// Writing result files so that a failure never leaves a half-written one, and reading input
// files so that whatever the path names (a folder, a device, nothing) gets one clear error.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

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

namespace detail {
// read_input_file's work: true and the bytes, or false and the error's message.
bool read_input(const std::string& path, std::string_view what, uint64_t limit,
                std::string_view magic, std::string& bytes, std::string& error);
}  // namespace detail

// Reads the whole input file `path`, which should be `what` ("an ONNX model file"): at most
// `limit` bytes (devices and pipes never end). Throws E naming the path and the fix when it
// is absent, a folder, unreadable, larger than the limit or more than memory holds, or when
// it does not begin with `magic` (checked on the first bytes read: /dev/zero given as a
// NumPy file is refused at once, not after gigabytes).
template <class E>
std::string read_input_file(const std::string& path, std::string_view what, uint64_t limit,
                            std::string_view magic = {}) {
  std::string bytes, error;
  if (!detail::read_input(path, what, limit, magic, bytes, error)) throw E(error);
  return bytes;
}

// For a YAML parse error at `line` (1-based) of `text`: "; line N indents with a tab; YAML
// indents with spaces only" when that line or the one before begins with a tab, else "".
std::string yaml_tab_hint(std::string_view text, int line);

// Whether `p` exists / is a folder, false when that cannot be told (a name component longer
// than the file system allows, no permission to look): std::filesystem's throwing forms
// turned user-given paths into "internal error" exits.
inline bool path_exists(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::exists(p, ec) && !ec;
}
inline bool is_folder(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::is_directory(p, ec) && !ec;
}

}  // namespace fg
