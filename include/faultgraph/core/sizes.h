// Sizes that a file claims (a tensor's dims in an ONNX, .npy or IDX header), checked
// before anything is allocated: a claim may be any number.
#pragma once
#include <cstdint>
#include <limits>
#include <optional>
#include <span>

namespace fg {

// The bytes a contiguous tensor of `dims` with `item_size`-byte elements needs; nullopt
// when a dim is negative or the element count of the non-zero dims overflows 64 bits
// (ATen refuses such shapes even when another dim is 0).
inline std::optional<int64_t> claimed_nbytes(std::span<const int64_t> dims, int64_t item_size) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t product = item_size;
  bool empty = false;
  for (int64_t d : dims) {
    if (d < 0) return std::nullopt;
    if (d == 0) {
      empty = true;
      continue;
    }
    if (product > kMax / d) return std::nullopt;
    product *= d;
  }
  return empty ? 0 : product;
}

// The most bytes one tensor whose size a model chooses may take (Range, Expand, Pad, every
// inferred shape: ops::check_fits_in_memory): this machine's physical memory, or less when
// set (the fuzz target that runs imported models caps it below libFuzzer's RSS limit).
int64_t tensor_memory_limit();
void set_tensor_memory_limit(int64_t bytes);  // <= 0: physical memory again

}  // namespace fg
