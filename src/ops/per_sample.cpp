// Which ops compute each sample on its own (batched fault variants stack variants along
// dim 0 through them).
#include "ops/common.h"

namespace fg {

std::optional<uint64_t> per_sample_inputs(const OpContext& ctx) {
  const Node& n = ctx.node;
  if (n.outputs.size() != 1) return std::nullopt;  // Dropout's mask, MaxPool's indices
  auto rank_of = [&](size_t i) { return ctx.in[i].rank_known ? ctx.in[i].rank() : -1; };
  switch (n.op) {
    case OpKind::kRelu:
    case OpKind::kLeakyRelu:
    case OpKind::kSigmoid:
    case OpKind::kTanh:
    case OpKind::kHardSigmoid:
    case OpKind::kHardSwish:
    case OpKind::kIdentity:
    case OpKind::kDropout:
    case OpKind::kCast:
    case OpKind::kClip:  // min and max: shared scalars
    case OpKind::kConv:  // weights and bias: shared
    case OpKind::kMaxPool:
    case OpKind::kAveragePool:
    case OpKind::kGlobalAveragePool:
    case OpKind::kGlobalMaxPool:
      return rank_of(0) >= 1 ? std::optional<uint64_t>(1) : std::nullopt;
    case OpKind::kBatchNormalization:  // training mode mixes the batch's samples
      return !ctx.training && rank_of(0) >= 1 ? std::optional<uint64_t>(1) : std::nullopt;
    case OpKind::kAdd:
    case OpKind::kSub:
    case OpKind::kMul:
    case OpKind::kDiv: {
      // Broadcasting: an input of the output's rank is indexed by sample (dim 0 of size 1
      // broadcasts, which stacking copies reproduce); a lower-rank one is shared.
      int64_t out_rank = std::max(rank_of(0), rank_of(1));
      if (rank_of(0) < 0 || rank_of(1) < 0 || out_rank < 1) return std::nullopt;
      uint64_t bits = 0;
      for (size_t i = 0; i < 2; ++i) bits |= rank_of(i) == out_rank ? uint64_t{1} << i : 0;
      return bits;
    }
    case OpKind::kConcat: {
      int64_t rank = rank_of(0);
      if (rank < 1) return std::nullopt;
      int64_t axis = ctx.attrs().get_int("axis", 0);
      if (axis < 0) axis += rank;
      if (axis <= 0 || axis >= rank) return std::nullopt;
      return n.inputs.size() >= 64 ? std::nullopt
                                   : std::optional<uint64_t>((uint64_t{1} << n.inputs.size()) - 1);
    }
    case OpKind::kFlatten: {
      int64_t rank = rank_of(0), axis = ctx.attrs().get_int("axis", 1);
      if (axis < 0) axis += rank;
      return rank >= 1 && axis >= 1 ? std::optional<uint64_t>(1) : std::nullopt;
    }
    case OpKind::kGemm:  // A's rows are samples; B and C are shared
      return ctx.attrs().get_int("transA", 0) == 0 ? std::optional<uint64_t>(1) : std::nullopt;
    case OpKind::kSoftmax:
    case OpKind::kLogSoftmax: {
      // Before opset 13 the input is coerced to 2-D at `axis` (default 1): rows are samples
      // when axis >= 1. From 13 on, one axis (default -1): anything but dim 0.
      int64_t rank = rank_of(0);
      int64_t axis = ctx.attrs().get_int("axis", ctx.opset < 13 ? 1 : -1);
      if (axis < 0) axis += rank;
      return rank >= 1 && axis >= 1 ? std::optional<uint64_t>(1) : std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

}  // namespace fg
