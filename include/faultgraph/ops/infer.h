// Shape and dtype inference over a whole graph, and verify().
#pragma once

#include <vector>

#include "faultgraph/ir/graph.h"
#include "faultgraph/ops/op.h"

namespace fg {

// The type of every value, indexed by ValueId, in one pass over the nodes in topological
// order. `inputs` (optional, one per runtime input in declaration order) replaces the
// declared input types, e.g. with a concrete batch size. Small values that do not depend
// on the runtime inputs (shape arithmetic, constants) are computed and kept in `value`.
// Throws ModelFormatError / ShapeError naming the offending node.
std::vector<TensorInfo> infer_types(const Graph& g, const std::vector<TensorInfo>& inputs = {});

// A copy of `g` whose values carry the inferred dtype and shape.
Graph with_inferred_types(const Graph& g);

// Checks that `g` is well formed: unique single assignment, every input defined, no
// cycle, op arity, attribute validity, and type/shape consistency. Throws on the first
// problem found, naming the node.
void verify(const Graph& g);

// Learned parameters of a node: the elements of the floating-point initializers it reads,
// without BatchNorm's running statistics (as PyTorch's parameters() counts them).
int64_t parameter_count(const Graph& g, const Node& n);

}  // namespace fg
