// Writing result files so that a failure never leaves a half-written one, and reading input
// files so that whatever the path names (a folder, a device, nothing) gets one clear error.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

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

// Refuses an output file that is one of the command's input files under any name (the same
// name, another spelling, a link): the command would replace what it reads (`campaign export
// r.db -o r.db` replaced the database by its own CSV). `what` names the input ("the campaign
// database"). UsageError naming both and the fix; nothing when `out` does not exist yet.
void check_output_not_input(const std::string& out, const std::string& input,
                            std::string_view what);

// The bytes of an input file (map_input_file): a regular file is mapped read-only, its pages
// read in one go and never copied (a 100 MB ONNX model was read into a string, zero-filled
// first, then copied by the parser); a pipe or a device is read into memory. A mapped file
// that another program shortens while it is read ends the process with one line naming it
// (not a bare "Bus error").
class InputFile {
 public:
  InputFile() = default;
  InputFile(InputFile&& o) noexcept { *this = std::move(o); }
  InputFile& operator=(InputFile&& o) noexcept;
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile();
  std::string_view bytes() const {
    return map_ ? std::string_view(static_cast<const char*>(map_), size_) : std::string_view(read_);
  }

 private:
  friend bool map_input(const std::string&, std::string_view, uint64_t, std::string_view,
                        InputFile&, std::string&);
  void* map_ = nullptr;
  size_t size_ = 0;
  int watch_ = -1;  // its slot among the mappings whose SIGBUS is reported by name
  std::string read_;
};

namespace detail {
// read_input_file's work: true and the bytes, or false and the error's message.
bool read_input(const std::string& path, std::string_view what, uint64_t limit,
                std::string_view magic, std::string& bytes, std::string& error);
}  // namespace detail
// map_input_file's work, as detail::read_input.
bool map_input(const std::string& path, std::string_view what, uint64_t limit,
               std::string_view magic, InputFile& file, std::string& error);

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

// read_input_file's checks and errors, the bytes mapped (see InputFile).
template <class E>
InputFile map_input_file(const std::string& path, std::string_view what, uint64_t limit,
                         std::string_view magic = {}) {
  InputFile file;
  std::string error;
  if (!map_input(path, what, limit, magic, file, error)) throw E(error);
  return file;
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
