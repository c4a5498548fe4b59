// Counter-based random numbers (Philox4x32-10, Salmon et al., SC 2011): every draw is a
// pure function of (seed, stream, counter), so a fault is reproducible on its own and
// independent of thread count, batch size, order and MPI rank.
#pragma once

#include <array>
#include <cstdint>

namespace fg {

class CounterRng {
 public:
  // `stream` separates independent sequences under one seed (fault id, sample, purpose).
  CounterRng(uint64_t seed, uint64_t stream) : seed_(seed), stream_(stream) {}

  // Four 32-bit words for counter value `i`.
  std::array<uint32_t, 4> block(uint64_t i) const;
  // Uniform in [0, 1) with 53 random bits, for counter value `i`.
  double uniform(uint64_t i) const;
  // Uniform integer in [0, n), n > 0 (Lemire's multiply-shift on 64 random bits).
  uint64_t below(uint64_t i, uint64_t n) const;

 private:
  uint64_t seed_;
  uint64_t stream_;
};

// A stream id from several small parts (fault id, sample index, purpose), well mixed.
uint64_t stream_id(uint64_t a, uint64_t b = 0, uint64_t c = 0);

}  // namespace fg
