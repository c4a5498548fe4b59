#include "faultgraph/ir/op_kind.h"

#include <array>

namespace fg {

namespace {
constexpr std::array<std::string_view, kOpKindCount> kNames = {
#define FG_OP(kind, name) name,
#include "faultgraph/ir/ops.def"
#undef FG_OP
};
}  // namespace

std::string_view op_name(OpKind op) { return kNames.at(static_cast<size_t>(op)); }

std::optional<OpKind> op_from_name(std::string_view onnx_name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == onnx_name) return static_cast<OpKind>(i);
  }
  return std::nullopt;
}

}  // namespace fg
