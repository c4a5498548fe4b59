#include "faultgraph/exec/runtime.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <fmt/format.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "faultgraph/core/error.h"

namespace fg {

namespace {
// A function of a library ATen loaded (OpenBLAS, oneDNN), or null when none has it.
template <typename F>
F loaded_function(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
}

void set_onednn_cache_capacity() {
  // oneDNN keeps 1024 JIT-compiled primitives by default; a campaign's convolution windows
  // come in a few thousand shapes (and each has its reorders), so its primitives were
  // evicted and compiled again: 1,327 recompiled 1x1 kernels in a 1,500-trial MobileNetV2
  // campaign, 0.26 ms each. 16384 keeps them (+9% trials/s there; +35 MB resident). A
  // capacity the user set (ONEDNN_PRIMITIVE_CACHE_CAPACITY) is kept.
  if (std::getenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY") ||
      std::getenv("DNNL_PRIMITIVE_CACHE_CAPACITY"))
    return;
  // oneDNN comes with ATen (libtorch links it); looked up, as ATen has no call for it.
  using SetCapacity = int (*)(int);
  if (auto set = loaded_function<SetCapacity>("dnnl_set_primitive_cache_capacity")) set(16384);
}
}  // namespace

void set_blas_threads(int threads) {
  if (auto f = loaded_function<void (*)(int)>("openblas_set_num_threads")) f(threads);
}

int blas_threads() {
  auto f = loaded_function<int (*)()>("openblas_get_num_threads");
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
  set_onednn_cache_capacity();
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
