// Loops on ATen's intra-op threads from faultgraph's own kernels.
#pragma once

#include <cstdint>
#include <functional>

namespace fg {

// at::parallel_for(begin, end, grain, f): f on contiguous chunks of [begin, end) on ATen's
// intra-op (OpenMP) threads, at most one chunk per `grain` iterations, f(begin, end) alone
// inside a parallel region or at one thread. ATen's template is inline and runs its OpenMP
// pragma only where the caller is compiled with -fopenmp, which faultgraph's sources are not
// (it would keep them off the shared precompiled header): called from them, it ran every
// chunk on the calling thread whatever the thread count. This one is compiled with -fopenmp
// (core/parallel.cpp).
void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& f);

}  // namespace fg
