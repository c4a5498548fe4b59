#include <fmt/format.h>

#include "faultgraph/ops/op.h"

namespace fg {

bool TensorInfo::shape_known() const {
  if (!rank_known) return false;
  for (int64_t d : shape) {
    if (d < 0) return false;
  }
  return true;
}

int64_t TensorInfo::numel() const {
  if (!shape_known()) return -1;
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string OpContext::where() const {
  return fmt::format("node '{}' ({})", node.name, op_name(node.op));
}

}  // namespace fg
