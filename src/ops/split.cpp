// Split along `axis` into the given sizes (attribute `split` before opset 13, input 1 from
// then on) or into equal parts, one per output (the last one smaller when uneven, as in
// opset 18's num_outputs).
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace split_op {
struct SplitParams {
  int64_t axis;
  std::vector<int64_t> sizes;  // empty: computed at run time from the input dim
};

std::vector<int64_t> equal_parts(int64_t dim, size_t n) {
  int64_t part = (dim + static_cast<int64_t>(n) - 1) / static_cast<int64_t>(n);
  std::vector<int64_t> sizes;
  for (size_t i = 0; i < n; ++i)
    sizes.push_back(std::min(part, dim - part * static_cast<int64_t>(i)));
  return sizes;
}

SplitParams parse(const OpContext& ctx) {
  const TensorInfo& x = ctx.in[0];
  FG_CHECK(x.rank_known, ShapeError, ctx.where(), ": input rank must be known");
  SplitParams p{normalize_axis(ctx, ctx.attrs().get_int("axis", 0), x.rank()), {}};
  if (auto s = ints_from_attr_or_input(ctx, "split", 1, 13)) p.sizes = *s;
  size_t n = ctx.node.outputs.size();
  if (p.sizes.empty() && x.shape[p.axis] >= 0) p.sizes = equal_parts(x.shape[p.axis], n);
  if (!p.sizes.empty()) {
    FG_CHECK(p.sizes.size() == n, ModelFormatError, ctx.where(), ": ", p.sizes.size(),
             " split sizes for ", n, " outputs");
    int64_t total = 0;
    for (int64_t s : p.sizes) {
      FG_CHECK(s >= 0 && !__builtin_add_overflow(total, s, &total), ShapeError, ctx.where(),
               ": split sizes must be non-negative and add up to the input dim");
    }
    FG_CHECK(x.shape[p.axis] < 0 || total == x.shape[p.axis], ShapeError, ctx.where(),
             ": split sizes add up to ", total, " but the input dim is ", x.shape[p.axis]);
  }
  return p;
}

std::vector<TensorInfo> infer(const OpContext& ctx) {
  SplitParams p = parse(ctx);
  std::vector<TensorInfo> out;
  for (size_t i = 0; i < ctx.node.outputs.size(); ++i) {
    Shape s = ctx.in[0].shape;
    s[p.axis] = p.sizes.empty() ? kUnknownDim : p.sizes[i];
    out.push_back(make_info(ctx.in[0].dtype, s));
  }
  return out;
}

Kernel prepare(const OpContext& ctx) {
  SplitParams p = parse(ctx);
  size_t n = ctx.node.outputs.size();
  return [p, n](KernelArgs& a) {
    auto sizes = p.sizes.empty() ? equal_parts(a.in[0].size(p.axis), n) : p.sizes;
    auto parts = at::split_with_sizes(a.in[0], sizes, p.axis);
    for (size_t i = 0; i < n; ++i) a.out[i] = parts[i];
  };
}
}  // namespace split_op
}  // namespace

extern const OpDef kSplit{OpKind::kSplit,  "Split",           1,       2,   1, 1 << 16,
                          split_op::infer, split_op::prepare, nullptr, true};
}  // namespace fg::ops
