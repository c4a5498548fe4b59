// Conversions between onnx::TensorProto and at::Tensor.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

#include "onnx/onnx_pb.h"

namespace fg {

// Copies the data out of the proto (raw_data or the typed fields). `where` names the tensor
// in error messages: wrong byte counts, external data, unsupported types.
at::Tensor tensor_from_proto(const onnx::TensorProto& t, const std::string& where);
// Same, but raw_data is taken out of `t` and becomes the tensor's storage, not copied.
at::Tensor take_tensor_from_proto(onnx::TensorProto& t, const std::string& where);
void tensor_to_proto(const at::Tensor& t, const std::string& name, onnx::TensorProto* out);

}  // namespace fg
