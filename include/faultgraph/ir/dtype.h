// Element types of graph values, with conversions to ATen's ScalarType.
#pragma once

#include <ATen/core/ScalarType.h>  // NOLINT: lightweight ATen header
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace fg {

enum class DType : uint8_t {
  kUndefined,
  kFloat32,
  kFloat64,
  kFloat16,
  kBFloat16,
  kInt8,
  kUInt8,
  kInt32,
  kInt64,
  kBool,
};

std::string_view dtype_name(DType t);
at::ScalarType to_scalar_type(DType t);
DType from_scalar_type(at::ScalarType t);
bool is_floating(DType t);

}  // namespace fg

namespace fg {
// ONNX TensorProto.DataType codes (FLOAT = 1, INT64 = 7, ...). Throws ModelFormatError
// for a code faultgraph cannot hold; `where` prefixes the message.
DType dtype_from_onnx(int code, const std::string& where);
int dtype_to_onnx(DType t);
}  // namespace fg
