#include "faultgraph/exec/runtime.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <fmt/format.h>
#include <malloc.h>
#include <unistd.h>

#include <fstream>

#include "faultgraph/core/error.h"

namespace fg {

namespace {
template <typename F>
F openblas_function(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
}
}  // namespace

void set_blas_threads(int threads) {
  if (auto f = openblas_function<void (*)(int)>("openblas_set_num_threads")) f(threads);
}

int blas_threads() {
  auto f = openblas_function<int (*)()>("openblas_get_num_threads");
  return f ? f() : 0;
}

void configure_runtime(int threads) {
  const int cores = static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  // More threads than a few per core only slow the kernels down (1000 threads took 10 s to
  // start); refuse rather than hang.
  FG_CHECK(threads <= 4 * cores, UsageError, "--threads ", threads, ": this machine has ", cores,
           " cores; use at most ", 4 * cores, " (0: one per core)");
  if (threads <= 0) threads = cores;
  at::set_num_threads(threads);
  // OpenBLAS runs on as many threads as it may use cores, whatever --threads says, and its
  // sums depend on that count: a Gemm's bits differed between 1 and 2 threads (found when
  // MPI ranks bound to one core each gave other results than one process). One thread:
  // the same bits on any machine, core binding or rank count (the trainer raises it).
  set_blas_threads(1);
  // 256 MiB: buffers below it are reused from the heap instead of mapped and unmapped.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

RuntimeInfo runtime_info() {
  RuntimeInfo info{at::get_num_threads(), "none loaded", "glibc"};
  std::ifstream maps("/proc/self/maps");
  std::string line;
  bool openblas = false;
  while (std::getline(maps, line)) {
    auto pos = line.find('/');
    if (pos == std::string::npos) continue;
    std::string path = line.substr(pos);
    if (path.find("tcmalloc") != std::string::npos) info.malloc = "tcmalloc";
    if (!openblas && path.find("blas") != std::string::npos) {
      info.blas = path;
      openblas = path.find("openblas") != std::string::npos;
    }
  }
  return info;
}

std::string describe_runtime() {
  RuntimeInfo info = runtime_info();
  return fmt::format("threads={} blas={} malloc={}", info.threads, info.blas, info.malloc);
}

}  // namespace fg
