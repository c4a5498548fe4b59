#include "io/onnx/tensor_proto.h"

#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "faultgraph/core/error.h"
#include "faultgraph/core/sizes.h"
#include "faultgraph/ir/dtype.h"

namespace fg {

namespace {
at::Tensor from_proto(const onnx::TensorProto& t, onnx::TensorProto* take,
                      const std::string& where) {
  FG_CHECK(t.data_location() != onnx::TensorProto::EXTERNAL, ModelFormatError, where,
           ": weights stored in an external file are not supported; save the model with all "
           "tensors inside (onnx.save(model, path, save_as_external_data=False))");
  DType dt = dtype_from_onnx(t.data_type(), where);
  std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
  const auto type = to_scalar_type(dt);
  const auto item = static_cast<int64_t>(c10::elementSize(type));
  // Sizes are checked against the data the file holds before anything is allocated: a
  // shape may claim any number of elements (found by fuzzing: an overflowing product).
  for (int64_t d : dims) FG_CHECK(d >= 0, ModelFormatError, where, ": negative dimension");
  std::optional<int64_t> claimed = claimed_nbytes(dims, item);
  FG_CHECK(claimed.has_value(), ModelFormatError, where, ": a shape of ", dims.size(),
           " dims whose element count overflows 64 bits");
  const int64_t n = *claimed / item;
  const auto nbytes = static_cast<size_t>(*claimed);
  if (t.has_raw_data()) {
    FG_CHECK(t.raw_data().size() == nbytes, ModelFormatError, where, ": raw_data has ",
             t.raw_data().size(), " bytes, but shape and type need ", nbytes,
             " (truncated or corrupt file?)");
    if (take && nbytes > 0 &&
        reinterpret_cast<uintptr_t>(t.raw_data().data()) % alignof(std::max_align_t) == 0) {
      std::string* bytes = take->release_raw_data();
      return at::from_blob(
          bytes->data(), dims, [bytes](void*) { delete bytes; }, at::TensorOptions().dtype(type));
    }
    at::Tensor out = at::empty(dims, at::TensorOptions().dtype(type));
    if (nbytes > 0) std::memcpy(out.data_ptr(), t.raw_data().data(), nbytes);
    return out;
  }
  auto check_count = [&](int count) {
    FG_CHECK(count == n, ModelFormatError, where, ": holds ", count,
             " values, but its shape needs ", n);
  };
  switch (dt) {
    case DType::kFloat32:
      check_count(t.float_data_size());
      break;
    case DType::kFloat64:
      check_count(t.double_data_size());
      break;
    case DType::kInt64:
      check_count(t.int64_data_size());
      break;
    default:
      check_count(t.int32_data_size());
      break;
  }
  at::Tensor out = at::empty(dims, at::TensorOptions().dtype(type));
  switch (dt) {
    case DType::kFloat32:
      std::copy(t.float_data().begin(), t.float_data().end(), out.data_ptr<float>());
      break;
    case DType::kFloat64:
      std::copy(t.double_data().begin(), t.double_data().end(), out.data_ptr<double>());
      break;
    case DType::kInt64:
      std::copy(t.int64_data().begin(), t.int64_data().end(), out.data_ptr<int64_t>());
      break;
    default: {
      // int32_data carries int32, int8, uint8, bool, and the bits of float16/bfloat16.
      at::Tensor wide = at::empty({n}, at::kInt);
      std::copy(t.int32_data().begin(), t.int32_data().end(), wide.data_ptr<int32_t>());
      if (dt == DType::kFloat16 || dt == DType::kBFloat16) {
        out = wide.to(at::kShort).view(to_scalar_type(dt)).reshape(dims).clone();
      } else {
        out = wide.to(to_scalar_type(dt)).reshape(dims);
      }
      break;
    }
  }
  return out;
}
}  // namespace

at::Tensor tensor_from_proto(const onnx::TensorProto& t, const std::string& where) {
  return from_proto(t, nullptr, where);
}

at::Tensor take_tensor_from_proto(onnx::TensorProto& t, const std::string& where) {
  return from_proto(t, &t, where);
}

void tensor_to_proto(const at::Tensor& t, const std::string& name, onnx::TensorProto* out) {
  out->set_name(name);
  out->set_data_type(dtype_to_onnx(from_scalar_type(t.scalar_type())));
  for (int64_t d : t.sizes()) out->add_dims(d);
  at::Tensor c = t.contiguous();
  out->set_raw_data(std::string(static_cast<const char*>(c.data_ptr()), c.nbytes()));
}

}  // namespace fg
