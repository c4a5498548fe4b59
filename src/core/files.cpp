#include "faultgraph/core/files.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>

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

namespace {
std::string not_the_format(const std::string& path, std::string_view what) {
  return path + ": not " + std::string(what) + " (it does not begin with the format's signature)";
}
}  // namespace

namespace detail {
bool read_input(const std::string& path, std::string_view what, uint64_t limit,
                std::string_view magic, std::string& bytes, std::string& error) {
  namespace fs = std::filesystem;
  auto size_name = [](uint64_t n) {
    return n >= (uint64_t{1} << 30) ? std::to_string(n >> 30) + " GiB"
                                    : std::to_string(n >> 20) + " MiB";
  };
  std::error_code ec;
  if (path.empty()) {
    error = "the file name is empty; name " + std::string(what);
    return false;
  }
  const fs::file_status st = fs::status(path, ec);
  if (st.type() == fs::file_type::not_found) {
    error = path + ": cannot open: no such file";
    return false;
  }
  if (st.type() == fs::file_type::directory) {
    error = path + ": is a folder; name " + std::string(what);
    return false;
  }
  if (st.type() == fs::file_type::regular) {
    const uint64_t size = fs::file_size(path, ec);
    if (!ec && size > limit) {
      error = path + ": larger than the " + size_name(limit) + " limit for " + std::string(what) +
              " (" + std::to_string(size) + " bytes)";
      return false;
    }
  }
  errno = 0;
  std::ifstream f(path, std::ios::binary);
  if (!f.good()) {
    error = path + ": cannot open (" + (errno ? std::strerror(errno) : "unreadable") + ")";
    return false;
  }
  // In chunks, at most limit + 1 bytes: a device or a pipe may never end.
  bytes.clear();
  constexpr size_t kChunk = size_t{1} << 20;
  try {
    while (f && bytes.size() <= limit) {
      const size_t old = bytes.size();
      const size_t want = static_cast<size_t>(std::min<uint64_t>(kChunk, limit + 1 - old));
      bytes.resize(old + want);
      f.read(bytes.data() + old, static_cast<std::streamsize>(want));
      bytes.resize(old + static_cast<size_t>(f.gcount()));
      if (old == 0 && !magic.empty() && bytes.compare(0, magic.size(), magic) != 0) {
        error = not_the_format(path, what);
        return false;
      }
    }
  } catch (const std::bad_alloc&) {
    error = path + ": does not fit in memory (" + std::to_string(bytes.size()) + " bytes read)";
    bytes = std::string();
    return false;
  }
  if (bytes.size() > limit) {
    bytes.clear();
    error = path + ": larger than the " + size_name(limit) + " limit for " + std::string(what);
    return false;
  }
  if (f.bad()) {
    error = path + ": read failed";
    return false;
  }
  return true;
}
}  // namespace detail

namespace {
// A mapped file that another process shortens makes every read of its lost pages raise SIGBUS
// (a crash with no message). The mapped regions are registered here, and a SIGBUS handler
// names the file of a faulting address and exits with the error status; a SIGBUS elsewhere
// goes to the handler that was there before, or kills as it would have.
struct MappedRegion {
  std::atomic<bool> taken{false};
  std::atomic<const char*> begin{nullptr};
  std::atomic<size_t> size{0};
  char path[1024] = {};
};
constexpr int kWatched = 16;  // files mapped at once (one per model being read)
MappedRegion g_mapped[kWatched];
struct sigaction g_previous_bus {};

void write_err(const char* text) {
  ssize_t ignored = ::write(STDERR_FILENO, text, std::strlen(text));
  (void)ignored;
}

extern "C" void on_bus(int sig, siginfo_t* info, void* context) {
  const auto* addr = static_cast<const char*>(info ? info->si_addr : nullptr);
  for (MappedRegion& m : g_mapped) {
    const char* b = m.begin.load(std::memory_order_acquire);
    if (b && addr >= b && addr < b + m.size.load(std::memory_order_relaxed)) {
      // Only async-signal-safe calls here.
      write_err("faultgraph: error: ");
      write_err(m.path);
      write_err(
          ": the file shrank while faultgraph was reading it (another program wrote or "
          "truncated it); let that finish, then run again\n");
      _exit(2);
    }
  }
  if ((g_previous_bus.sa_flags & SA_SIGINFO) && g_previous_bus.sa_sigaction) {
    g_previous_bus.sa_sigaction(sig, info, context);
  } else if (!(g_previous_bus.sa_flags & SA_SIGINFO) && g_previous_bus.sa_handler != SIG_DFL &&
             g_previous_bus.sa_handler != SIG_IGN) {
    g_previous_bus.sa_handler(sig);
  } else {
    signal(SIGBUS, SIG_DFL);  // a real bus error: die of it, as without this handler
    raise(SIGBUS);
  }
}

void install_bus_handler() {
  static const bool installed = [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_bus;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGBUS, &sa, &g_previous_bus);
    return true;
  }();
  (void)installed;
}

// The registry slot of a mapping, or -1 when all are taken (then it goes unwatched).
int watch_mapping(const void* begin, size_t size, const std::string& path) {
  install_bus_handler();
  for (int i = 0; i < kWatched; ++i) {
    bool expected = false;
    if (!g_mapped[i].taken.compare_exchange_strong(expected, true)) continue;
    const size_t n = std::min(path.size(), sizeof g_mapped[i].path - 1);
    std::memcpy(g_mapped[i].path, path.data(), n);
    g_mapped[i].path[n] = '\0';
    g_mapped[i].size.store(size, std::memory_order_relaxed);
    g_mapped[i].begin.store(static_cast<const char*>(begin), std::memory_order_release);
    return i;
  }
  return -1;
}

void unwatch_mapping(int slot) {
  if (slot < 0) return;
  g_mapped[slot].begin.store(nullptr, std::memory_order_release);
  g_mapped[slot].taken.store(false, std::memory_order_release);
}
}  // namespace

InputFile& InputFile::operator=(InputFile&& o) noexcept {
  if (this != &o) {
    unwatch_mapping(watch_);
    if (map_) munmap(map_, size_);
    watch_ = std::exchange(o.watch_, -1);
    map_ = std::exchange(o.map_, nullptr);
    size_ = std::exchange(o.size_, 0);
    read_ = std::move(o.read_);
  }
  return *this;
}

InputFile::~InputFile() {
  unwatch_mapping(watch_);
  if (map_) munmap(map_, size_);
}

bool map_input(const std::string& path, std::string_view what, uint64_t limit,
               std::string_view magic, InputFile& file, std::string& error) {
  file = InputFile();
  std::error_code ec;
  // Anything but a plain file (and every error case) takes the reading path and its checks.
  if (path.empty() ||
      std::filesystem::status(path, ec).type() != std::filesystem::file_type::regular)
    return detail::read_input(path, what, limit, magic, file.read_, error);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 || st.st_size <= 0 ||
      static_cast<uint64_t>(st.st_size) > limit) {
    if (fd >= 0) ::close(fd);
    return detail::read_input(path, what, limit, magic, file.read_, error);
  }
  const auto size = static_cast<size_t>(st.st_size);
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return detail::read_input(path, what, limit, magic, file.read_, error);
  file.map_ = map;
  file.size_ = size;
  file.watch_ = watch_mapping(map, size, path);
  if (!magic.empty() && file.bytes().substr(0, magic.size()) != magic) {
    file = InputFile();
    error = not_the_format(path, what);
    return false;
  }
  return true;
}

std::string yaml_tab_hint(std::string_view text, int line) {
  int n = 1;
  for (size_t at = 0; at <= text.size(); ++n) {
    const size_t end = std::min(text.find('\n', at), text.size());
    if ((n == line || n == line - 1) && at < text.size() && text[at] == '\t')
      return "; line " + std::to_string(n) + " indents with a tab; YAML indents with spaces only";
    if (n >= line) break;
    at = end + 1;
  }
  return "";
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

void check_output_not_input(const std::string& out, const std::string& input,
                            std::string_view what) {
  std::error_code ec;
  if (out.empty() || input.empty() || !std::filesystem::equivalent(out, input, ec) || ec) return;
  FG_FAIL(UsageError, out, ": is ", what, out == input ? "" : " (" + input + ")",
          ", which this command reads; writing there would replace it: name another output file");
}

}  // namespace fg
