// Compiled with -fopenmp and without the shared precompiled header (src/CMakeLists.txt):
// see core/parallel.h.
#include "core/parallel.h"

#include <ATen/Parallel.h>

#ifndef _OPENMP
#error "core/parallel.cpp must be compiled with -fopenmp (ATen's parallel_for is serial without)"
#endif

namespace fg {

void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& f) {
  at::parallel_for(begin, end, grain, f);
}

}  // namespace fg
