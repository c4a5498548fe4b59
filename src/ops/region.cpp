// Boxes and the shared parts of windowed recompute (Region): element-wise ops and sliding
// windows.
#include <algorithm>
#include <array>
#include <cstring>

#include "ops/common.h"

namespace fg {

Box Box::whole(at::IntArrayRef shape) {
  Box b;
  b.lo.assign(shape.size(), 0);
  b.hi.assign(shape.begin(), shape.end());
  return b;
}

int64_t Box::volume() const {
  int64_t v = 1;
  for (size_t d = 0; d < lo.size(); ++d) v *= std::max<int64_t>(0, hi[d] - lo[d]);
  return v;
}

std::vector<int64_t> Box::shape() const {
  std::vector<int64_t> s(lo.size());
  for (size_t d = 0; d < lo.size(); ++d) s[d] = hi[d] - lo[d];
  return s;
}

void Box::unite(const Box& o) {
  FG_ASSERT(o.lo.size() == lo.size(), "boxes of different ranks");
  for (size_t d = 0; d < lo.size(); ++d) {
    lo[d] = std::min(lo[d], o.lo[d]);
    hi[d] = std::max(hi[d], o.hi[d]);
  }
}

at::Tensor Box::of(const at::Tensor& t) const {
  FG_ASSERT(static_cast<size_t>(t.dim()) == lo.size(), "box of rank ", lo.size(),
            " on a tensor of rank ", t.dim());
  // One view made for all dims (a narrow per dim cost a dispatch each, on the hot path of
  // windowed recompute).
  bool whole = true;
  int64_t offset = t.storage_offset();
  std::vector<int64_t> sizes(lo.size());
  for (size_t d = 0; d < lo.size(); ++d) {
    const auto dim = static_cast<int64_t>(d);
    FG_ASSERT(0 <= lo[d] && lo[d] <= hi[d] && hi[d] <= t.size(dim), "box [", lo[d], ", ", hi[d],
              ") outside dim ", d, " of size ", t.size(dim));
    whole = whole && lo[d] == 0 && hi[d] == t.size(dim);
    sizes[d] = hi[d] - lo[d];
    offset += lo[d] * t.stride(dim);
  }
  return whole ? t : t.as_strided(sizes, t.strides(), offset);
}

void copy_into(const at::Tensor& dst, const at::Tensor& src) {
  const int64_t rank = dst.dim();
  const auto unit_last = [](const at::Tensor& t) { return t.size(-1) <= 1 || t.stride(-1) == 1; };
  bool rows = rank >= 1 && rank <= 8 && dst.numel() > 0 && src.dtype() == dst.dtype() &&
              src.sizes() == dst.sizes() && dst.layout() == at::kStrided &&
              src.layout() == at::kStrided && dst.device().is_cpu() && src.device().is_cpu() &&
              !src.is_conj() && !src.is_neg() && !dst.is_conj() && !dst.is_neg() &&
              !dst.requires_grad() && !src.requires_grad() && unit_last(dst) && unit_last(src);
  for (int64_t d = 0; rows && d < rank - 1; ++d) rows = dst.size(d) == 1 || dst.stride(d) != 0;
  if (!rows) {
    dst.copy_(src);
    return;
  }
  const int64_t len = dst.size(-1), count = dst.numel() / len;
  const auto item = static_cast<int64_t>(dst.element_size());
  const size_t bytes = static_cast<size_t>(len * item);
  std::array<int64_t, 8> at{}, size{}, ds{}, ss{};
  for (int64_t d = 0; d < rank - 1; ++d) {
    size[d] = dst.size(d);
    ds[d] = dst.stride(d) * item;
    ss[d] = src.stride(d) * item;
  }
  auto* to = static_cast<char*>(dst.data_ptr());
  const auto* from = static_cast<const char*>(src.data_ptr());
  for (int64_t r = 0; r < count; ++r) {
    std::memcpy(to, from, bytes);
    for (int64_t d = rank - 2; d >= 0; --d) {  // the next row: an odometer over the outer dims
      to += ds[d];
      from += ss[d];
      if (++at[d] < size[d]) break;
      to -= ds[d] * size[d];
      from -= ss[d] * size[d];
      at[d] = 0;
    }
  }
}

// The part of the patch inside `b`, and where it lies in `b` and in the patch; nullopt when
// there is no patch or it does not overlap `b`.
std::optional<std::pair<Box, Box>> WindowInput::overlap(const Box& b) const {
  if (!box) return std::nullopt;
  Box in_b = b, in_patch = b;
  for (size_t d = 0; d < b.lo.size(); ++d) {
    const int64_t lo = std::max(b.lo[d], box->lo[d]), hi = std::min(b.hi[d], box->hi[d]);
    if (lo >= hi) return std::nullopt;
    in_b.lo[d] = lo - b.lo[d];
    in_b.hi[d] = hi - b.lo[d];
    in_patch.lo[d] = lo - box->lo[d];
    in_patch.hi[d] = hi - box->lo[d];
  }
  return std::make_pair(std::move(in_b), std::move(in_patch));
}

at::Tensor WindowInput::part(const Box& b) const {
  std::optional<std::pair<Box, Box>> o = overlap(b);
  if (!o) return b.of(base);
  if (o->first.volume() == b.volume()) return o->second.of(patch);  // b lies in the patch
  at::Tensor out = at::empty(b.of(base).sizes(), base.options());
  copy_into(out, b.of(base));
  copy_into(o->first.of(out), o->second.of(patch));
  return out;
}

void WindowInput::copy_part(const Box& b, const at::Tensor& dst) const {
  std::optional<std::pair<Box, Box>> o = overlap(b);
  if (!o || o->first.volume() != b.volume()) copy_into(dst, b.of(base));
  if (o) copy_into(o->first.of(dst), o->second.of(patch));
}

namespace ops {

at::Tensor relative_part(const at::Tensor& t, const Box& have, const Box& want) {
  at::Tensor r = t;
  for (size_t d = 0; d < want.lo.size(); ++d) {
    int64_t lo = want.lo[d] - have.lo[d], len = want.hi[d] - want.lo[d];
    if (lo != 0 || len != r.size(static_cast<int64_t>(d)))
      r = r.narrow(static_cast<int64_t>(d), lo, len);
  }
  return r;
}

std::optional<Region> elementwise_region(const OpContext& ctx, Kernel kernel, bool exact) {
  if (ctx.node.outputs.size() != 1) return std::nullopt;
  std::vector<Shape> ins;
  Shape out;
  for (size_t i = 0; i < ctx.in.size(); ++i) {
    if (!ctx.has_input(i)) {
      ins.emplace_back();
      continue;
    }
    if (!ctx.in[i].shape_known()) return std::nullopt;
    ins.push_back(ctx.in[i].shape);
    out = out.empty() && i == 0 ? ctx.in[i].shape : broadcast_shapes(ctx, out, ctx.in[i].shape);
  }
  Region r;
  r.reach = [ins, out](size_t i, const Box& b) -> std::optional<Box> {
    Box o = Box::whole(out);
    size_t off = out.size() - ins[i].size();
    for (size_t di = 0; di < ins[i].size(); ++di) {
      size_t d = di + off;
      if (ins[i][di] == 1 && out[d] != 1) continue;  // broadcast: every output position
      o.lo[d] = b.lo[di];
      o.hi[d] = b.hi[di];
    }
    return o;
  };
  r.compute = [ins, out, kernel](const std::vector<WindowInput>& in, const Box& box) {
    std::vector<at::Tensor> xs(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      if (!in[i].defined()) continue;
      Box part = Box::whole(ins[i]);
      size_t off = out.size() - ins[i].size();
      for (size_t di = 0; di < ins[i].size(); ++di) {
        size_t d = di + off;
        if (ins[i][di] == 1 && out[d] != 1) continue;
        part.lo[di] = box.lo[d];
        part.hi[di] = box.hi[d];
      }
      xs[i] = in[i].part(part);
    }
    // A part copied (the patch covers some of it) is this call's own: the kernel may write
    // its output there instead of allocating another. A golden value, a patch or a view of
    // either is never overwritten: it has another handle or shares its storage.
    uint64_t own = 0;
    for (size_t i = 0; i < xs.size() && i < 64; ++i) {
      if (sole_owner(xs[i])) own |= uint64_t{1} << i;
    }
    std::vector<at::Tensor> outs(1);
    KernelArgs a{xs, outs, own};
    kernel(a);
    return outs[0];
  };
  r.exact = exact;
  return r;
}

namespace {
int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }
}  // namespace

std::pair<int64_t, int64_t> window_reach(const Window& w, size_t j, int64_t in_lo, int64_t in_hi,
                                         int64_t out_len) {
  // Output o reads inputs o*s - pad .. o*s - pad + (k-1)*d.
  int64_t s = w.strides[j], pad = w.pad_begin[j], span = (w.kernel[j] - 1) * w.dilations[j];
  int64_t lo = ceil_div(in_lo + pad - span, s);
  int64_t hi = floor_div(in_hi - 1 + pad, s) + 1;
  return {std::clamp<int64_t>(lo, 0, out_len), std::clamp<int64_t>(hi, 0, out_len)};
}

bool own_pool_kernel(const TensorInfo& x, const Window& w, const Shape& out) {
  if (x.dtype != DType::kFloat32 || !x.shape_known() || x.rank() != 4 || out.size() != 4)
    return false;
  double padded = static_cast<double>(x.shape[0]) * static_cast<double>(x.shape[1]);
  for (size_t j = 0; j < 2; ++j) {
    padded *= static_cast<double>(std::max<int64_t>(out[2 + j] - 1, 0)) *
                  static_cast<double>(w.strides[j]) +
              static_cast<double>((w.kernel[j] - 1) * w.dilations[j] + 1);
  }
  return padded <= 2.0 * static_cast<double>(std::max<int64_t>(x.numel(), 1)) + 1e6;
}

at::Tensor window_input(const WindowInput& x, const Window& w, const Box& out, int64_t c0,
                        int64_t c1, double pad_value, std::span<const int64_t> slack) {
  Box read;
  read.lo = {out.lo[0], c0};
  read.hi = {out.hi[0], c1};
  std::vector<int64_t> pads;  // constant_pad_nd order: last dim first, (before, after)
  const size_t spatial = w.kernel.size();
  for (size_t j = 0; j < spatial; ++j) {
    auto dim = static_cast<int64_t>(2 + j);
    int64_t len = x.size(dim);
    int64_t span = (w.kernel[j] - 1) * w.dilations[j] + 1;
    int64_t i0 = out.lo[2 + j] * w.strides[j] - w.pad_begin[j];
    int64_t i1 =
        (out.hi[2 + j] - 1) * w.strides[j] - w.pad_begin[j] + span + (slack.empty() ? 0 : slack[j]);
    int64_t a = std::clamp<int64_t>(i0, 0, len), b = std::clamp<int64_t>(i1, 0, len);
    read.lo.push_back(a);
    read.hi.push_back(std::max(a, b));
    int64_t before = a - std::min(i0, a);  // positions before the input's start
    int64_t after = (i1 - i0) - before - (b - a);
    pads.insert(pads.begin(), {before, after});
  }
  bool padded = false;
  for (int64_t p : pads) padded = padded || p != 0;
  if (!padded) return x.part(read);
  // One tensor of the padded shape: its border filled, the read box (patch applied) copied
  // in. A padded copy of a patched copy passed over the window three times.
  std::vector<int64_t> shape{read.hi[0] - read.lo[0], read.hi[1] - read.lo[1]};
  Box inner = read;
  inner.lo[0] = inner.lo[1] = 0;
  inner.hi[0] = shape[0];
  inner.hi[1] = shape[1];
  for (size_t j = 0; j < spatial; ++j) {
    const int64_t before = pads[2 * (spatial - 1 - j)], after = pads[2 * (spatial - 1 - j) + 1];
    const int64_t len = read.hi[2 + j] - read.lo[2 + j];
    shape.push_back(before + len + after);
    inner.lo[2 + j] = before;
    inner.hi[2 + j] = before + len;
  }
  at::Tensor t = at::empty(shape, x.base.options());
  if (spatial == 2 && t.scalar_type() == at::kFloat && x.base.is_contiguous()) {
    // Plane by plane, row by row: the border, then the read rows of the input (ATen's fill_
    // of each strided border strip and a copy per row through copy_into cost more than the
    // window's depthwise convolution: 40 of 58 us for 960 channels at 7 x 7); the patch, if
    // any, over them after.
    const auto v = static_cast<float>(pad_value);
    const int64_t h = shape[2], wd = shape[3];
    const int64_t r0 = inner.lo[2], r1 = inner.hi[2], c0 = inner.lo[3], c1 = inner.hi[3];
    const int64_t ih = x.base.size(2), iw = x.base.size(3), channels = x.base.size(1);
    const std::optional<std::pair<Box, Box>> o = x.overlap(read);
    const bool base_needed = !o || o->first.volume() != read.volume();
    const float* in = x.base.data_ptr<float>();
    float* p = t.data_ptr<float>();
    for (int64_t b = 0; b < shape[0]; ++b) {
      for (int64_t c = 0; c < shape[1]; ++c, p += h * wd) {
        const float* src = in + ((read.lo[0] + b) * channels + read.lo[1] + c) * ih * iw +
                           read.lo[2] * iw + read.lo[3];
        std::fill(p, p + r0 * wd, v);
        for (int64_t r = r0; r < r1; ++r, src += iw) {
          float* row = p + r * wd;
          for (int64_t k = 0; k < c0; ++k) row[k] = v;
          if (base_needed) std::memcpy(row + c0, src, sizeof(float) * (c1 - c0));
          for (int64_t k = c1; k < wd; ++k) row[k] = v;
        }
        std::fill(p + r1 * wd, p + h * wd, v);
      }
    }
    if (o) {
      Box in_t = o->first;  // the overlap in t: past the padding before the read box
      for (size_t d = 0; d < in_t.lo.size(); ++d) {
        in_t.lo[d] += inner.lo[d];
        in_t.hi[d] += inner.lo[d];
      }
      copy_into(in_t.of(t), o->second.of(x.patch));
    }
    return t;
  }
  for (size_t j = 0; j < spatial; ++j) {
    const auto dim = static_cast<int64_t>(2 + j);
    if (inner.lo[2 + j] > 0) t.narrow(dim, 0, inner.lo[2 + j]).fill_(pad_value);
    if (inner.hi[2 + j] < shape[2 + j])
      t.narrow(dim, inner.hi[2 + j], shape[2 + j] - inner.hi[2 + j]).fill_(pad_value);
  }
  x.copy_part(read, inner.of(t));
  return t;
}

}  // namespace ops
}  // namespace fg
