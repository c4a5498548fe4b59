// Shared by the kernel benches (pointwise_bench, conv_gemm_bench): timing a kernel with its
// weights "hot" (one weight called again and again: it stays in the caches) or "cold"
// (calls cycling through distinct weights, as a campaign meets them), and their one option.
#pragma once

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace fg::bench {

// Seconds per call of f(weight) over `seconds`, cycling through ws (or ws[0] only when hot).
inline double per_call(const std::vector<at::Tensor>& ws, bool hot, double seconds,
                       const std::function<void(const at::Tensor&)>& f) {
  for (const at::Tensor& w : ws) f(w);  // primitives, blocked weights, first touch
  using Clock = std::chrono::steady_clock;
  int64_t calls = 0;
  const auto t0 = Clock::now();
  double elapsed = 0;
  do {
    f(hot ? ws[0] : ws[static_cast<size_t>(calls) % ws.size()]);
    ++calls;
    elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  } while (elapsed < seconds);
  return elapsed / static_cast<double>(calls);
}

// `--seconds S` (time per case, default 0.5); anything else prints the usage and exits 2.
inline double seconds_option(int argc, char** argv, const char* program) {
  double seconds = 0.5;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) {
      seconds = std::stod(argv[++i]);
    } else {
      fmt::print(stderr, "usage: {} [--seconds S]\n", program);
      std::exit(2);
    }
  }
  return seconds;
}

}  // namespace fg::bench
