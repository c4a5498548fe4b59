// NumPy .npy files (format versions 1.0 to 3.0, C order, little-endian): float32, float64,
// float16, int8, uint8, int32, int64, bool.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace fg {

// Throws UsageError naming the file for a missing, truncated or unsupported file
// (Fortran order, big-endian, object arrays).
at::Tensor read_npy(const std::string& path);
// Writes atomically (temporary file, then rename).
void write_npy(const at::Tensor& t, const std::string& path);

// NumPy's name of an element type ("float32"), for messages about .npy files; ATen's own
// name for a type NumPy cannot hold.
std::string numpy_name(at::ScalarType t);

}  // namespace fg
