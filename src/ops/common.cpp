#include "ops/common.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <limits>

#include "core/parallel.h"
#include "faultgraph/core/sizes.h"

namespace fg::ops {

TensorInfo make_info(DType dtype, Shape shape) {
  TensorInfo t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.rank_known = true;
  return t;
}

TensorInfo unknown_rank(DType dtype) {
  TensorInfo t;
  t.dtype = dtype;
  return t;
}

std::vector<TensorInfo> same_as_input(const OpContext& ctx) {
  TensorInfo t = ctx.in[0];
  t.value.reset();
  return {t};
}

const TensorInfo& input_with_rank(const OpContext& ctx, size_t i, int64_t rank) {
  const TensorInfo& t = ctx.in[i];
  FG_CHECK(!t.rank_known || t.rank() == rank, ShapeError, ctx.where(), ": input ", i,
           " must have rank ", rank, ", got shape [", fmt::format("{}", fmt::join(t.shape, ",")),
           "]");
  return t;
}

Shape broadcast_shapes(const OpContext& ctx, const Shape& a, const Shape& b) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da == 1) {
      out[i] = db;
    } else if (db == 1) {
      out[i] = da;
    } else if (da < 0 || db < 0) {
      out[i] = std::max(da, db);
    } else {
      FG_CHECK(da == db, ShapeError, ctx.where(), ": shapes [",
               fmt::format("{}", fmt::join(a, ",")), "] and [",
               fmt::format("{}", fmt::join(b, ",")), "] cannot be broadcast together");
      out[i] = da;
    }
  }
  return out;
}

int64_t normalize_axis(const OpContext& ctx, int64_t axis, int64_t rank, const char* what) {
  FG_CHECK(axis >= -rank && axis < rank, ModelFormatError, ctx.where(), ": ", what, " ", axis,
           " is out of range for rank ", rank);
  return axis < 0 ? axis + rank : axis;
}

std::vector<int64_t> tensor_to_ints(const at::Tensor& t) {
  at::Tensor c = t.to(at::kLong).contiguous().reshape({-1});
  const int64_t* p = c.data_ptr<int64_t>();
  return {p, p + c.numel()};
}

namespace {
int64_t physical_memory_bytes() {
  static const int64_t bytes = [] {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page
                                 : std::numeric_limits<int64_t>::max();
  }();
  return bytes;
}
std::atomic<int64_t> memory_cap{0};
}  // namespace
}  // namespace fg::ops

namespace fg {
int64_t tensor_memory_limit() {
  const int64_t cap = ops::memory_cap.load(std::memory_order_relaxed);
  return cap > 0 ? std::min(cap, ops::physical_memory_bytes()) : ops::physical_memory_bytes();
}
void set_tensor_memory_limit(int64_t bytes) {
  ops::memory_cap.store(bytes, std::memory_order_relaxed);
}
}  // namespace fg

namespace fg::ops {

void check_fits_in_memory(const std::string& where, std::span<const int64_t> shape,
                          int64_t item_size, const char* what) {
  std::optional<int64_t> bytes = claimed_nbytes(shape, item_size);
  const int64_t memory = tensor_memory_limit();
  if (bytes && *bytes <= memory) return;
  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  FG_FAIL(ShapeError, where, ": ", what, " [", fmt::format("{}", fmt::join(shape, ", ")), "] (",
          bytes ? fmt::format("{:.1f} GiB", static_cast<double>(*bytes) / kGiB)
                : std::string("more bytes than 64 bits count"),
          "), more than ", memory == physical_memory_bytes() ? "this machine's " : "the limit of ",
          fmt::format("{:.1f}", static_cast<double>(memory) / kGiB),
          " GiB of memory; check the shape, pads or range the model gives it");
}

std::optional<std::vector<int64_t>> const_ints(const OpContext& ctx, size_t i) {
  if (!ctx.has_input(i) || !ctx.in[i].value) return std::nullopt;
  return tensor_to_ints(*ctx.in[i].value);
}

std::optional<double> const_scalar(const OpContext& ctx, size_t i) {
  if (!ctx.has_input(i) || !ctx.in[i].value) return std::nullopt;
  const at::Tensor& t = *ctx.in[i].value;
  FG_CHECK(t.numel() == 1, ModelFormatError, ctx.where(), ": input ", i, " must be a scalar");
  return t.to(at::kDouble).item<double>();
}

std::optional<std::vector<int64_t>> ints_from_attr_or_input(const OpContext& ctx, const char* attr,
                                                            size_t input, int64_t input_since) {
  if (ctx.opset < input_since || ctx.attrs().has(attr)) {
    if (!ctx.attrs().has(attr)) return std::nullopt;
    return ctx.attrs().get_ints(attr);
  }
  if (!ctx.has_input(input)) return std::nullopt;
  auto v = const_ints(ctx, input);
  FG_CHECK(v.has_value(), ModelFormatError, ctx.where(), ": input ", input, " ('", attr,
           "') must be a constant (an initializer or a Constant node)");
  return v;
}

Window parse_window(const OpContext& ctx, const Shape& spatial,
                    std::optional<std::vector<int64_t>> kernel) {
  const auto n = static_cast<int64_t>(spatial.size());
  Window w;
  w.kernel = kernel ? *kernel : ctx.attrs().get_ints("kernel_shape");
  FG_CHECK(static_cast<int64_t>(w.kernel.size()) == n, ShapeError, ctx.where(),
           ": kernel_shape has ", w.kernel.size(), " dims but the input has ", n, " spatial dims");
  w.strides = ctx.attrs().get_ints("strides", std::vector<int64_t>(n, 1));
  w.dilations = ctx.attrs().get_ints("dilations", std::vector<int64_t>(n, 1));
  w.ceil_mode = ctx.attrs().get_int("ceil_mode", 0) != 0;
  FG_CHECK(
      static_cast<int64_t>(w.strides.size()) == n && static_cast<int64_t>(w.dilations.size()) == n,
      ModelFormatError, ctx.where(), ": strides and dilations need ", n, " values");
  // Bounded so that the window arithmetic below ((kernel - 1) x dilation, input + pads) stays
  // far inside 64 bits whatever a model claims.
  constexpr int64_t kMax = int64_t{1} << 31;
  for (int64_t i = 0; i < n; ++i) {
    FG_CHECK(w.kernel[i] > 0 && w.strides[i] > 0 && w.dilations[i] > 0, ModelFormatError,
             ctx.where(), ": kernel_shape, strides and dilations must be positive");
    FG_CHECK(w.kernel[i] <= kMax && w.strides[i] <= kMax && w.dilations[i] <= kMax,
             ModelFormatError, ctx.where(),
             ": kernel_shape, strides and dilations must be at most ", kMax);
  }
  std::string auto_pad = ctx.attrs().get_string("auto_pad", "NOTSET");
  w.pad_begin.assign(n, 0);
  w.pad_end.assign(n, 0);
  if (auto_pad == "NOTSET") {
    auto pads = ctx.attrs().get_ints("pads", std::vector<int64_t>(2 * n, 0));
    FG_CHECK(static_cast<int64_t>(pads.size()) == 2 * n, ModelFormatError, ctx.where(),
             ": pads needs ", 2 * n, " values (begin of each spatial dim, then end), got ",
             pads.size());
    for (int64_t i = 0; i < n; ++i) {
      w.pad_begin[i] = pads[i];
      w.pad_end[i] = pads[n + i];
      FG_CHECK(pads[i] >= 0 && pads[n + i] >= 0, ModelFormatError, ctx.where(), ": negative pads");
      FG_CHECK(pads[i] <= kMax && pads[n + i] <= kMax, ModelFormatError, ctx.where(),
               ": pads must be at most ", kMax);
    }
  } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    for (int64_t i = 0; i < n; ++i) {
      FG_CHECK(spatial[i] >= 0, ShapeError, ctx.where(), ": auto_pad=", auto_pad,
               " needs known spatial input dims");
      int64_t out = (spatial[i] + w.strides[i] - 1) / w.strides[i];
      int64_t eff = (w.kernel[i] - 1) * w.dilations[i] + 1;
      int64_t total = std::max<int64_t>(0, (out - 1) * w.strides[i] + eff - spatial[i]);
      int64_t small = total / 2;
      w.pad_begin[i] = auto_pad == "SAME_UPPER" ? small : total - small;
      w.pad_end[i] = total - w.pad_begin[i];
    }
  } else {
    FG_CHECK(auto_pad == "VALID", ModelFormatError, ctx.where(), ": auto_pad '", auto_pad,
             "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
  }
  return w;
}

Shape window_output(const OpContext& ctx, const Window& w, const Shape& spatial) {
  Shape out(spatial.size());
  for (size_t i = 0; i < spatial.size(); ++i) {
    if (spatial[i] < 0) {
      out[i] = kUnknownDim;
      continue;
    }
    int64_t eff = (w.kernel[i] - 1) * w.dilations[i] + 1;
    int64_t span = spatial[i] + w.pad_begin[i] + w.pad_end[i] - eff;
    FG_CHECK(span >= 0, ShapeError, ctx.where(), ": window of ", eff,
             " is larger than the padded input dim ", spatial[i] + w.pad_begin[i] + w.pad_end[i]);
    int64_t o =
        w.ceil_mode ? (span + w.strides[i] - 1) / w.strides[i] + 1 : span / w.strides[i] + 1;
    // A window that would start entirely inside the end padding is dropped (as in PyTorch).
    if (w.ceil_mode && (o - 1) * w.strides[i] >= spatial[i] + w.pad_begin[i]) --o;
    out[i] = o;
  }
  return out;
}

at::Tensor pad_spatial(const at::Tensor& x, const Window& w, double value) {
  std::vector<int64_t> pad;  // ATen order: last dim first, (begin, end) pairs
  for (size_t i = w.pad_begin.size(); i-- > 0;) {
    pad.push_back(w.pad_begin[i]);
    pad.push_back(w.pad_end[i]);
  }
  return at::constant_pad_nd(x, pad, value);
}

}  // namespace fg::ops

namespace fg::ops {

std::vector<TensorInfo> broadcast_infer(const OpContext& ctx) {
  const TensorInfo& a = ctx.in[0];
  const TensorInfo& b = ctx.in[1];
  FG_CHECK(a.dtype == b.dtype || a.dtype == DType::kUndefined || b.dtype == DType::kUndefined,
           ShapeError, ctx.where(), ": inputs have different element types (", dtype_name(a.dtype),
           " and ", dtype_name(b.dtype), ")");
  if (!a.rank_known || !b.rank_known) return {unknown_rank(a.dtype)};
  return {make_info(a.dtype, broadcast_shapes(ctx, a.shape, b.shape))};
}

std::vector<TensorInfo> compare_infer(const OpContext& ctx) {
  std::vector<TensorInfo> out = broadcast_infer(ctx);
  out[0].dtype = DType::kBool;
  return out;
}

Kernel binary_kernel(at::Tensor (*f)(const at::Tensor&, const at::Tensor&),
                     at::Tensor& (*f_)(at::Tensor&, const at::Tensor&)) {
  return [f, f_](KernelArgs& a) {
    at::Tensor& x = a.in[0];
    const at::Tensor& y = a.in[1];
    if (a.may_overwrite(0) && x.dim() >= y.dim() && x.is_contiguous() &&
        x.scalar_type() == y.scalar_type()) {
      bool fits = true;
      for (int64_t i = 1; i <= y.dim(); ++i) {
        int64_t dy = y.size(-i);
        fits = fits && (dy == 1 || dy == x.size(-i));
      }
      if (fits) {
        a.out[0] = f_(x, y);
        return;
      }
    }
    a.out[0] = f(x, y);
  };
}

namespace {
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"),
               optimize("vect-cost-model=dynamic"))) void
clamp_span(const float* x, float* y, int64_t n, float lo, float hi) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = lo > x[i] ? lo : x[i];
    y[i] = hi < v ? hi : v;
  }
}
}  // namespace

bool clamp_float_applies(const at::Tensor& x, double lo, double hi) {
  return x.scalar_type() == at::kFloat && x.is_contiguous() && x.device().is_cpu() &&
         !(at::GradMode::is_enabled() && x.requires_grad()) && !std::isnan(lo) && !std::isnan(hi);
}

at::Tensor clamp_float(const at::Tensor& x, float lo, float hi, bool in_place) {
  at::Tensor y = in_place ? x : at::empty_like(x);
  const float* src = x.data_ptr<float>();
  float* dst = y.data_ptr<float>();
  fg::parallel_for(0, x.numel(), 32768, [&](int64_t begin, int64_t end) {
    clamp_span(src + begin, dst + begin, end - begin, lo, hi);
  });
  return y;
}

Kernel unary_kernel(at::Tensor (*f)(const at::Tensor&), at::Tensor& (*f_)(at::Tensor&)) {
  return [f, f_](KernelArgs& a) {
    if (f_ != nullptr && a.may_overwrite(0) && a.in[0].is_contiguous()) {
      a.out[0] = f_(a.in[0]);
    } else {
      a.out[0] = f(a.in[0]);
    }
  };
}

}  // namespace fg::ops

namespace fg::ops {

Kernel normalize_along_axis_kernel(const OpContext& ctx,
                                   at::Tensor (*f)(const at::Tensor&, int64_t)) {
  const TensorInfo& x = ctx.in[0];
  FG_CHECK(x.rank_known, ShapeError, ctx.where(), ": input rank must be known");
  bool coerce_2d = ctx.opset < 13;
  int64_t axis = normalize_axis(ctx, ctx.attrs().get_int("axis", coerce_2d ? 1 : -1),
                                std::max<int64_t>(x.rank(), 1));
  if (!coerce_2d || axis == x.rank() - 1) {
    return [axis, f](KernelArgs& a) { a.out[0] = f(a.in[0], axis); };
  }
  return [axis, f](KernelArgs& a) {
    const at::Tensor& in = a.in[0];
    at::Tensor flat = in.reshape({c10::multiply_integers(in.sizes().slice(0, axis)), -1});
    a.out[0] = f(flat, 1).reshape(in.sizes());
  };
}

int64_t softmax_flops(const OpContext&, std::span<const TensorInfo> out) {
  return out[0].numel() < 0 ? -1 : 3 * out[0].numel();
}

std::vector<TensorInfo> global_pool_infer(const OpContext& ctx) {
  const TensorInfo& x = ctx.in[0];
  FG_CHECK(x.rank_known && x.rank() >= 3, ShapeError, ctx.where(),
           ": input must be N x C x spatial (rank 3 or more)");
  Shape out(x.shape.begin(), x.shape.begin() + 2);
  out.resize(x.shape.size(), 1);
  return {make_info(x.dtype, out)};
}

int64_t global_pool_flops(const OpContext& ctx, std::span<const TensorInfo>) {
  return ctx.in[0].numel();
}

std::vector<int64_t> spatial_dims(const OpContext& ctx) {
  std::vector<int64_t> dims;
  for (int64_t i = 2; i < ctx.in[0].rank(); ++i) dims.push_back(i);
  return dims;
}

bool has_avx512() {
  static const bool yes = __builtin_cpu_supports("avx512f") != 0;
  return yes;
}

bool has_avx2_fma() {
  static const bool yes = __builtin_cpu_supports("avx2") != 0 && __builtin_cpu_supports("fma") != 0;
  return yes;
}

}  // namespace fg::ops
