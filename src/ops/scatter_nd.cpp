// ScatterND: a copy of `data` with the slices that `indices` (int64, last dim k <= rank)
// addresses replaced by `updates` (reduction none), or combined with them (add, mul, max,
// min: opsets 16 and 18). Negative indices count from the end; out-of-range ones are errors.
#include "ops/common.h"

namespace fg::ops {
namespace {
namespace scatter_nd_op {
enum class Reduction { kNone, kAdd, kMul, kMax, kMin };

Reduction reduction(const OpContext& ctx) {
  std::string r = ctx.attrs().get_string("reduction", "none");
  if (r == "none") return Reduction::kNone;
  if (r == "add") return Reduction::kAdd;
  if (r == "mul") return Reduction::kMul;
  if (r == "max") return Reduction::kMax;
  if (r == "min") return Reduction::kMin;
  FG_FAIL(ModelFormatError, ctx.where(), ": reduction '", r,
          "' is not one of none, add, mul, max, min");
}

std::vector<TensorInfo> infer(const OpContext& ctx) {
  reduction(ctx);
  const TensorInfo& data = ctx.in[0];
  const TensorInfo& idx = ctx.in[1];
  const TensorInfo& upd = ctx.in[2];
  FG_CHECK(idx.dtype == DType::kInt64 || idx.dtype == DType::kUndefined, ShapeError, ctx.where(),
           ": indices must be int64");
  FG_CHECK(upd.dtype == data.dtype || upd.dtype == DType::kUndefined, ShapeError, ctx.where(),
           ": updates must have the data's element type");
  if (data.rank_known && idx.rank_known && upd.rank_known && idx.rank() >= 1 &&
      idx.shape.back() >= 0) {
    int64_t k = idx.shape.back();
    FG_CHECK(k <= data.rank(), ShapeError, ctx.where(), ": indices address ", k, " dims of a rank-",
             data.rank(), " tensor");
    FG_CHECK(upd.rank() == idx.rank() - 1 + data.rank() - k, ShapeError, ctx.where(),
             ": updates must have rank ", idx.rank() - 1 + data.rank() - k);
  }
  return same_as_input(ctx);
}

Kernel prepare(const OpContext& ctx) {
  Reduction red = reduction(ctx);
  std::string where = ctx.where();
  return [red, where](KernelArgs& a) {
    const at::Tensor& data = a.in[0];
    at::Tensor idx = a.in[1].to(at::kLong);
    const at::Tensor& upd = a.in[2];
    int64_t k = idx.size(-1);
    FG_CHECK(idx.dim() >= 1 && k <= data.dim(), ShapeError, where, ": indices' last dim ", k,
             " exceeds the data's rank ", data.dim());
    // The first k dims flattened: one row of `rows` per addressed slice.
    std::vector<int64_t> lead(data.sizes().begin(), data.sizes().begin() + k);
    std::vector<int64_t> tail(data.sizes().begin() + k, data.sizes().end());
    int64_t rows = 1;
    for (int64_t d : lead) rows *= d;
    at::Tensor flat_idx = idx.reshape({-1, k});
    at::Tensor linear = at::zeros({flat_idx.size(0)}, at::kLong);
    for (int64_t d = 0; d < k; ++d) {
      at::Tensor col = flat_idx.select(1, d);
      col = at::where(col < 0, col + lead[d], col);
      FG_CHECK(col.numel() == 0 ||
                   (col.min().item<int64_t>() >= 0 && col.max().item<int64_t>() < lead[d]),
               ShapeError, where, ": an index of dim ", d, " is outside [0, ", lead[d], ")");
      linear = linear * lead[d] + col;
    }
    std::vector<int64_t> row_shape{rows};
    row_shape.insert(row_shape.end(), tail.begin(), tail.end());
    std::vector<int64_t> upd_shape{flat_idx.size(0)};
    upd_shape.insert(upd_shape.end(), tail.begin(), tail.end());
    int64_t slice = 1;
    for (int64_t d : tail) slice *= d;
    FG_CHECK(upd.numel() == flat_idx.size(0) * slice, ShapeError, where, ": updates have ",
             upd.numel(), " elements, the indices address ", flat_idx.size(0), " slices");
    at::Tensor out = data.clone().reshape(row_shape);
    at::Tensor u = upd.reshape(upd_shape);
    // In index order, so that repeated indices combine (or the last one wins) as in the
    // ONNX reference implementation.
    const int64_t* rows_of = linear.data_ptr<int64_t>();
    for (int64_t i = 0; i < linear.size(0); ++i) {
      at::Tensor dst = out[rows_of[i]];
      switch (red) {
        case Reduction::kNone:
          dst.copy_(u[i]);
          break;
        case Reduction::kAdd:
          dst.add_(u[i]);
          break;
        case Reduction::kMul:
          dst.mul_(u[i]);
          break;
        case Reduction::kMax:
          dst.copy_(at::maximum(dst, u[i]));
          break;
        case Reduction::kMin:
          dst.copy_(at::minimum(dst, u[i]));
          break;
      }
    }
    a.out[0] = out.reshape(data.sizes());
  };
}
}  // namespace scatter_nd_op
}  // namespace

extern const OpDef kScatterND{
    OpKind::kScatterND,     "ScatterND", 3,   3, 1, 1, scatter_nd_op::infer,
    scatter_nd_op::prepare, nullptr,     true};
}  // namespace fg::ops
