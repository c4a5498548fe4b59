#include "faultgraph/fault/rng.h"

namespace fg {

namespace {
constexpr uint32_t kM0 = 0xD2511F53U, kM1 = 0xCD9E8D57U;
constexpr uint32_t kW0 = 0x9E3779B9U, kW1 = 0xBB67AE85U;

inline void mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  uint64_t p = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}

uint64_t splitmix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}
}  // namespace

std::array<uint32_t, 4> CounterRng::block(uint64_t i) const {
  std::array<uint32_t, 4> c = {static_cast<uint32_t>(i), static_cast<uint32_t>(i >> 32),
                               static_cast<uint32_t>(stream_),
                               static_cast<uint32_t>(stream_ >> 32)};
  uint32_t k0 = static_cast<uint32_t>(seed_), k1 = static_cast<uint32_t>(seed_ >> 32);
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(kM0, c[0], hi0, lo0);
    mulhilo(kM1, c[2], hi1, lo1);
    c = {hi1 ^ c[1] ^ k0, lo1, hi0 ^ c[3] ^ k1, lo0};
    k0 += kW0;
    k1 += kW1;
  }
  return c;
}

double CounterRng::uniform(uint64_t i) const {
  auto b = block(i);
  uint64_t bits = (static_cast<uint64_t>(b[0]) << 32 | b[1]) >> 11;
  return static_cast<double>(bits) * 0x1.0p-53;
}

uint64_t CounterRng::below(uint64_t i, uint64_t n) const {
  auto b = block(i);
  uint64_t r = static_cast<uint64_t>(b[2]) << 32 | b[3];
  return static_cast<uint64_t>((static_cast<unsigned __int128>(r) * n) >> 64);
}

uint64_t stream_id(uint64_t a, uint64_t b, uint64_t c) {
  return splitmix(splitmix(splitmix(a) ^ b) ^ c);
}

}  // namespace fg
