// The closed set of operators faultgraph understands (listed in ops.def).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace fg {

enum class OpKind : unsigned short {
#define FG_OP(kind, name) k##kind,
#include "faultgraph/ir/ops.def"
#undef FG_OP
};

inline constexpr std::size_t kOpKindCount = 0
#define FG_OP(kind, name) +1
#include "faultgraph/ir/ops.def"
#undef FG_OP
    ;

// The ONNX name of an op ("Conv").
std::string_view op_name(OpKind op);
// The op with this ONNX name, if faultgraph implements it.
std::optional<OpKind> op_from_name(std::string_view onnx_name);

}  // namespace fg
