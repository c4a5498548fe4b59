// 2-d float convolutions through oneDNN directly; see dnnl_conv.h.
//
// Per thread: one entry per convolution geometry (input, weight and output dims, strides,
// pads, dilations, groups, bias or not) with its primitive and the reorders between the
// plain NCHW tensors faultgraph keeps and the blocked layouts the kernel wants, and one set
// of work buffers (blocked input, blocked output, scratchpad) that grows to the largest
// call. Shared by all threads: the weights in the kernel's blocked layout, one copy per
// weight tensor and layout, made on first use and dropped once the weight's storage is
// freed (a weight changed in place, as an optimiser does, has a new version and is packed
// again).
#include "ops/dnnl_conv.h"

#include <ATen/core/grad_mode.h>

#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>

#include "ops/weight_cache.h"

namespace fg::ops {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using Dt = memory::data_type;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

struct Geometry {
  std::vector<int64_t> key;  // dims and parameters, see make_key
  bool operator==(const Geometry&) const = default;
};

struct GeometryHash {
  size_t operator()(const Geometry& g) const {
    size_t h = 1469598103934665603ull;
    for (int64_t v : g.key) h = (h ^ static_cast<size_t>(v)) * 1099511628211ull;
    return h;
  }
};

struct Entry {
  explicit Entry(const dnnl::convolution_forward::primitive_desc& p) : pd(p), conv(p) {}
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward conv;
  memory::desc src_plain, dst_plain, weight_plain, bias_desc;
  std::optional<dnnl::reorder> src_reorder, dst_reorder;
  memory::dims dst_dims;
};

// The weights in the kernels' blocked layouts.
WeightCache<memory::desc, std::shared_ptr<float[]>> packed_weights;

struct Buffers {
  std::vector<float> src, dst, scratch;
  float* sized(std::vector<float>& v, size_t bytes) {
    const size_t n = bytes / sizeof(float) + 16;
    if (v.size() < n) v.resize(n);
    return v.data();
  }
};

std::shared_ptr<float[]> packed_weight(const Entry& e, const at::Tensor& w, dnnl::stream& s) {
  const memory::desc& want = e.pd.weights_desc();
  return packed_weights.get(w, want, [&] {
    std::shared_ptr<float[]> data(new float[want.get_size() / sizeof(float) + 16]);
    memory from(e.weight_plain, cpu_engine(), w.data_ptr());
    memory to(want, cpu_engine(), data.get());
    dnnl::reorder(from, to).execute(s, from, to);
    s.wait();
    return data;
  });
}

std::unique_ptr<Entry> make_entry(const memory::dims& x_dims, const memory::dims& w_dims,
                                  const memory::dims& dst_dims, bool with_bias,
                                  const memory::dims& strides, const memory::dims& padding,
                                  const memory::dims& dilations, int64_t groups) {
  const int64_t oc = w_dims[0];
  memory::dims wd =
      groups == 1 ? w_dims : memory::dims{groups, oc / groups, w_dims[1], w_dims[2], w_dims[3]};
  memory::desc src_any(x_dims, Dt::f32, Tag::any), dst_any(dst_dims, Dt::f32, Tag::any);
  memory::desc w_any(wd, Dt::f32, Tag::any), bias_any({oc}, Dt::f32, Tag::any);
  memory::dims dl;
  for (int64_t d : dilations) dl.push_back(d - 1);  // oneDNN counts the gaps
  // What ATen's ideep asks for (convolution_forward::get_primitive_desc): every format
  // left to oneDNN, prop_kind::forward, the direct algorithm, a user scratchpad.
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  auto desc = with_bias ? dnnl::convolution_forward::desc(
                              dnnl::prop_kind::forward, dnnl::algorithm::convolution_direct,
                              src_any, w_any, bias_any, dst_any, strides, dl, padding, padding)
                        : dnnl::convolution_forward::desc(
                              dnnl::prop_kind::forward, dnnl::algorithm::convolution_direct,
                              src_any, w_any, dst_any, strides, dl, padding, padding);
  dnnl::convolution_forward::primitive_desc pd(desc, attr, cpu_engine());
  auto e = std::make_unique<Entry>(pd);
  e->src_plain = memory::desc(x_dims, Dt::f32, Tag::nchw);
  e->dst_plain = memory::desc(dst_dims, Dt::f32, Tag::nchw);
  e->weight_plain = memory::desc(wd, Dt::f32, groups == 1 ? Tag::oihw : Tag::goihw);
  e->bias_desc = memory::desc({oc}, Dt::f32, Tag::x);
  e->dst_dims = dst_dims;
  if (pd.src_desc() != e->src_plain)
    e->src_reorder = dnnl::reorder(
        dnnl::reorder::primitive_desc(cpu_engine(), e->src_plain, cpu_engine(), pd.src_desc()));
  if (pd.dst_desc() != e->dst_plain)
    e->dst_reorder = dnnl::reorder(
        dnnl::reorder::primitive_desc(cpu_engine(), pd.dst_desc(), cpu_engine(), e->dst_plain));
  return e;
}

}  // namespace

std::optional<at::Tensor> dnnl_conv2d(const at::Tensor& x_in, const at::Tensor& w_in,
                                      const at::Tensor& bias_in,
                                      const std::vector<int64_t>& strides,
                                      const std::vector<int64_t>& padding,
                                      const std::vector<int64_t>& dilations, int64_t groups) {
  const bool grads = at::GradMode::is_enabled() && (x_in.requires_grad() || w_in.requires_grad() ||
                                                    (bias_in.defined() && bias_in.requires_grad()));
  if (grads || x_in.scalar_type() != at::kFloat || w_in.scalar_type() != at::kFloat ||
      (bias_in.defined() && bias_in.scalar_type() != at::kFloat) || x_in.dim() != 4 ||
      w_in.dim() != 4 || strides.size() != 2 || padding.size() != 2 || dilations.size() != 2 ||
      x_in.numel() == 0 || w_in.numel() == 0 || groups < 1 || !x_in.device().is_cpu())
    return std::nullopt;
  const at::Tensor x = x_in.contiguous(), w = w_in.contiguous();
  const at::Tensor bias = bias_in.defined() ? bias_in.contiguous() : bias_in;
  const int64_t oc = w.size(0);
  if (x.size(1) != w.size(1) * groups || oc % groups != 0 || (bias.defined() && bias.numel() != oc))
    return std::nullopt;
  memory::dims x_dims(x.sizes().begin(), x.sizes().end());
  memory::dims w_dims(w.sizes().begin(), w.sizes().end());
  memory::dims dst_dims{x.size(0), oc, 0, 0};
  for (int j = 0; j < 2; ++j) {
    const int64_t span = dilations[j] * (w.size(2 + j) - 1) + 1;
    const int64_t room = x.size(2 + j) + 2 * padding[j] - span;
    if (room < 0 || strides[j] < 1) return std::nullopt;
    dst_dims[2 + j] = room / strides[j] + 1;
  }

  thread_local std::unordered_map<Geometry, std::unique_ptr<Entry>, GeometryHash> entries;
  thread_local Buffers buffers;
  thread_local dnnl::stream stream(cpu_engine());
  Geometry g;
  g.key.reserve(20);
  g.key.insert(g.key.end(), x_dims.begin(), x_dims.end());
  g.key.insert(g.key.end(), w_dims.begin(), w_dims.end());
  g.key.insert(g.key.end(), strides.begin(), strides.end());
  g.key.insert(g.key.end(), padding.begin(), padding.end());
  g.key.insert(g.key.end(), dilations.begin(), dilations.end());
  g.key.push_back(groups);
  g.key.push_back(bias.defined() ? 1 : 0);
  auto it = entries.find(g);
  if (it == entries.end()) {
    std::unique_ptr<Entry> e;
    try {
      e = make_entry(x_dims, w_dims, dst_dims, bias.defined(),
                     memory::dims(strides.begin(), strides.end()),
                     memory::dims(padding.begin(), padding.end()),
                     memory::dims(dilations.begin(), dilations.end()), groups);
    } catch (const dnnl::error&) {
      return std::nullopt;  // a geometry oneDNN has no kernel for: ATen's path
    }
    // Campaigns meet a few thousand window shapes; a process that runs many models
    // starts over rather than growing without bound.
    if (entries.size() >= 16384) entries.clear();
    it = entries.emplace(std::move(g), std::move(e)).first;
  }
  Entry& e = *it->second;
  std::shared_ptr<float[]> packed = packed_weight(e, w, stream);

  at::Tensor y = at::empty(e.dst_dims, x.options());
  memory x_plain(e.src_plain, cpu_engine(), x.data_ptr());
  memory y_plain(e.dst_plain, cpu_engine(), y.data_ptr());
  memory x_blocked = e.src_reorder ? memory(e.pd.src_desc(), cpu_engine(),
                                            buffers.sized(buffers.src, e.pd.src_desc().get_size()))
                                   : x_plain;
  memory y_blocked = e.dst_reorder ? memory(e.pd.dst_desc(), cpu_engine(),
                                            buffers.sized(buffers.dst, e.pd.dst_desc().get_size()))
                                   : y_plain;
  memory weights(e.pd.weights_desc(), cpu_engine(), packed.get());
  memory scratch(e.pd.scratchpad_desc(), cpu_engine(),
                 buffers.sized(buffers.scratch, e.pd.scratchpad_desc().get_size()));
  if (e.src_reorder) e.src_reorder->execute(stream, x_plain, x_blocked);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, x_blocked},
                                       {DNNL_ARG_WEIGHTS, weights},
                                       {DNNL_ARG_DST, y_blocked},
                                       {DNNL_ARG_SCRATCHPAD, scratch}};
  if (bias.defined())
    args.emplace(DNNL_ARG_BIAS, memory(e.bias_desc, cpu_engine(), bias.data_ptr()));
  e.conv.execute(stream, args);
  if (e.dst_reorder) e.dst_reorder->execute(stream, y_blocked, y_plain);
  stream.wait();
  return y;
}

}  // namespace fg::ops
