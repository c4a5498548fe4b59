// Pad: `pads` = [begin of each dim..., end of each dim...] (attribute before opset 11,
// input 1 from then on; negative values crop), mode constant (value: attribute or
// input 2), reflect or edge. reflect and edge pad only the trailing 1 to 3 dims.
#include <algorithm>

#include "ops/common.h"

namespace fg::ops {
namespace {
namespace pad_op {
struct PadParams {
  std::vector<int64_t> aten_pads;  // last dim first, (begin, end) pairs
  std::string mode;
  double value;
};

PadParams parse(const OpContext& ctx) {
  const TensorInfo& x = ctx.in[0];
  FG_CHECK(x.rank_known, ShapeError, ctx.where(), ": input rank must be known");
  auto pads = ints_from_attr_or_input(ctx, "pads", 1, 11);
  FG_CHECK(pads.has_value(), ModelFormatError, ctx.where(), ": missing pads");
  FG_CHECK(static_cast<int64_t>(pads->size()) == 2 * x.rank(), ModelFormatError, ctx.where(),
           ": pads needs ", 2 * x.rank(), " values, got ", pads->size());
  FG_CHECK(!ctx.has_input(3), ModelFormatError, ctx.where(), ": the axes input is not supported");
  constexpr int64_t kMax = int64_t{1} << 40;  // dims plus pads stay far inside 64 bits
  for (int64_t v : *pads) {
    FG_CHECK(v >= -kMax && v <= kMax, ModelFormatError, ctx.where(), ": pad ", v, " is outside +/-",
             kMax);
  }
  // A computed constant_value would be read as 0 below (const_scalar knows only constants).
  FG_CHECK(ctx.opset < 11 || !ctx.has_input(2) || ctx.in[2].value, ModelFormatError, ctx.where(),
           ": input 2 (constant_value) must be a constant (an initializer or a Constant node)");
  PadParams p;
  p.mode = ctx.attrs().get_string("mode", "constant");
  p.value =
      ctx.opset < 11 ? ctx.attrs().get_float("value", 0.0) : const_scalar(ctx, 2).value_or(0.0);
  FG_CHECK(p.mode == "constant" || p.mode == "reflect" || p.mode == "edge", ModelFormatError,
           ctx.where(), ": mode '", p.mode, "' is not one of constant, reflect, edge");
  int64_t r = x.rank();
  int64_t first_padded = r;  // ATen pads the trailing dims from this one on
  for (int64_t i = r - 1; i >= 0; --i) {
    if ((*pads)[i] != 0 || (*pads)[r + i] != 0) first_padded = i;
  }
  if (p.mode != "constant" && first_padded < r) {
    FG_CHECK(first_padded >= 1 && r - first_padded <= 3, ModelFormatError, ctx.where(), ": ",
             p.mode, " padding is supported on at most the last 3 dims, and not on dim 0");
  }
  for (int64_t i = r - 1; i >= first_padded; --i) {
    p.aten_pads.push_back((*pads)[i]);
    p.aten_pads.push_back((*pads)[r + i]);
  }
  return p;
}

std::vector<TensorInfo> infer(const OpContext& ctx) {
  const TensorInfo& x = ctx.in[0];
  PadParams p = parse(ctx);
  Shape out = x.shape;
  for (size_t k = 0; k < p.aten_pads.size() / 2; ++k) {
    int64_t& d = out[out.size() - 1 - k];
    if (d >= 0) d += p.aten_pads[2 * k] + p.aten_pads[2 * k + 1];
    FG_CHECK(d == kUnknownDim || d >= 0, ShapeError, ctx.where(), ": pads crop a dim below zero");
  }
  return {make_info(x.dtype, out)};
}

Kernel prepare(const OpContext& ctx) {
  PadParams p = parse(ctx);
  std::string where = ctx.where();
  return [p, where](KernelArgs& a) {
    const at::Tensor& x = a.in[0];
    std::vector<int64_t> out = x.sizes().vec();
    for (size_t k = 0; k < p.aten_pads.size() / 2 && k < out.size(); ++k) {
      int64_t& d = out[out.size() - 1 - k];
      FG_CHECK(!__builtin_add_overflow(d, p.aten_pads[2 * k], &d) &&
                   !__builtin_add_overflow(d, p.aten_pads[2 * k + 1], &d) && d >= 0,
               ShapeError, where, ": pads make dim ", out.size() - 1 - k, " negative or too large");
    }
    check_fits_in_memory(where, out, x.element_size());
    if (p.aten_pads.empty()) {
      a.out[0] = x;
    } else if (p.mode == "constant") {
      a.out[0] = at::constant_pad_nd(x, p.aten_pads, p.value);
    } else {
      size_t nd = p.aten_pads.size() / 2;
      bool reflect = p.mode == "reflect";
      // ATen's reflection/replication pads want a batch dim in front of the padded dims.
      at::Tensor y = x.dim() == static_cast<int64_t>(nd) + 1 ? x : x.reshape({-1});
      if (x.dim() != static_cast<int64_t>(nd) + 1) {
        auto sizes = x.sizes().vec();
        std::vector<int64_t> shape{-1};
        shape.insert(shape.end(), sizes.end() - static_cast<int64_t>(nd), sizes.end());
        y = x.reshape(shape);
      }
      at::Tensor r;
      if (nd == 1)
        r = reflect ? at::reflection_pad1d(y, p.aten_pads) : at::replication_pad1d(y, p.aten_pads);
      if (nd == 2)
        r = reflect ? at::reflection_pad2d(y, p.aten_pads) : at::replication_pad2d(y, p.aten_pads);
      if (nd == 3)
        r = reflect ? at::reflection_pad3d(y, p.aten_pads) : at::replication_pad3d(y, p.aten_pads);
      auto out_shape = x.sizes().vec();
      for (size_t k = 0; k < nd; ++k) out_shape[out_shape.size() - 1 - k] = r.size(r.dim() - 1 - k);
      a.out[0] = r.reshape(out_shape);
    }
  };
}

// Constant padding moves each input element by the begin pads (negative ones crop): a changed
// box of the data is the same box of the output, shifted and clipped to it, and a window of
// the output is the constant with the input's part copied in (exact: nothing is summed).
// InceptionV3's average pools come as Pad + AveragePool; without a region, one changed
// element made the pool and the 1x1 convolution after it run whole. Reflect and edge modes
// mirror border changes into the pads: no region (a change reaches the whole output).
std::optional<Region> region(const OpContext& ctx) {
  if (!ctx.in[0].shape_known()) return std::nullopt;
  PadParams p = parse(ctx);
  if (p.mode != "constant") return std::nullopt;
  const Shape in = ctx.in[0].shape;
  const size_t rank = in.size();
  std::vector<int64_t> begin(rank, 0);
  Shape out = in;
  for (size_t k = 0; k < p.aten_pads.size() / 2; ++k) {
    begin[rank - 1 - k] = p.aten_pads[2 * k];
    out[rank - 1 - k] += p.aten_pads[2 * k] + p.aten_pads[2 * k + 1];
  }
  Region r;
  r.reach = [begin, out](size_t i, const Box& b) -> std::optional<Box> {
    if (i != 0) return std::nullopt;  // the pads or the constant: everything
    Box o = b;
    for (size_t d = 0; d < o.lo.size(); ++d) {
      o.lo[d] = std::clamp<int64_t>(b.lo[d] + begin[d], 0, out[d]);
      o.hi[d] = std::clamp<int64_t>(b.hi[d] + begin[d], o.lo[d], out[d]);
    }
    return o;
  };
  const double value = p.value;
  r.compute = [begin, in, value](const std::vector<WindowInput>& x, const Box& ob) {
    std::vector<int64_t> sizes(ob.lo.size());
    Box src = ob, dst = ob;
    bool inside = true;
    for (size_t d = 0; d < ob.lo.size(); ++d) {
      sizes[d] = ob.hi[d] - ob.lo[d];
      src.lo[d] = std::clamp<int64_t>(ob.lo[d] - begin[d], 0, in[d]);
      src.hi[d] = std::clamp<int64_t>(ob.hi[d] - begin[d], src.lo[d], in[d]);
      dst.lo[d] = src.lo[d] + begin[d] - ob.lo[d];
      dst.hi[d] = src.hi[d] + begin[d] - ob.lo[d];
      inside = inside && dst.lo[d] == 0 && dst.hi[d] == sizes[d];
    }
    if (inside) return x[0].part(src);  // no padding in the window: the input's part
    at::Tensor w = at::full(sizes, value, x[0].base.options());
    if (src.volume() > 0) x[0].copy_part(src, dst.of(w));
    return w;
  };
  return r;
}
}  // namespace pad_op
}  // namespace

extern const OpDef kPad{
    OpKind::kPad, "Pad", 1, 4, 1, 1, pad_op::infer, pad_op::prepare, nullptr, true, pad_op::region};
}  // namespace fg::ops
