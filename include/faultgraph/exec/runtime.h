// Process-wide runtime settings: thread count, allocator tuning, and what BLAS is loaded.
#pragma once

#include <string>

namespace fg {

struct RuntimeInfo {
  int threads;
  std::string blas;    // path of the loaded BLAS library, or "none loaded"
  std::string malloc;  // "tcmalloc" when it is linked (the CLI, the benchmarks), else "glibc"
};

// Sets ATen's intra-op thread count (0: one per core) and raises glibc's mmap threshold so
// that large activations are not an mmap/munmap pair each (DESIGN.md: +45% on MobileNetV2;
// no effect where tcmalloc is linked, which keeps freed memory for reuse itself).
// Also lets oneDNN keep 16384 compiled primitives instead of 1024 (convolution windows come in
// thousands of shapes; ONEDNN_PRIMITIVE_CACHE_CAPACITY, when set, is kept).
// Call once at start-up, before running models.
void configure_runtime(int threads = 0);
RuntimeInfo runtime_info();
// OpenBLAS's own thread count (when OpenBLAS is the BLAS loaded; else no effect, and 0).
// configure_runtime sets 1: its results then do not depend on the machine's cores.
void set_blas_threads(int threads);
int blas_threads();
// "threads=2 blas=/usr/lib/.../libopenblas.so.0 malloc=tcmalloc": for benchmark and log
// headers.
std::string describe_runtime();

}  // namespace fg
