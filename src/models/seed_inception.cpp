#include "faultgraph/models/seed_inception.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

namespace fg {

namespace {
class Builder {
 public:
  Builder(Graph& g, uint64_t seed) : g_(g), gen_(at::make_generator<at::CPUGeneratorImpl>(seed)) {}

  at::Tensor uniform(std::vector<int64_t> shape, double bound) {
    return at::empty(shape).uniform_(-bound, bound, gen_);
  }

  // Conv (same padding, stride 1) + ReLU; the ReLU carries the layer's name.
  ValueId conv_relu(const std::string& name, ValueId x, int64_t in, int64_t out, int64_t k) {
    auto fan_in = static_cast<double>(in * k * k);
    ValueId w =
        g_.add_initializer(name + ".weight", uniform({out, in, k, k}, std::sqrt(6.0 / fan_in)));
    ValueId b = g_.add_initializer(name + ".bias", at::zeros({out}));
    Attrs a;
    int64_t p = k / 2;
    a.set("kernel_shape", std::vector<int64_t>{k, k});
    a.set("pads", std::vector<int64_t>{p, p, p, p});
    NodeId conv = g_.add_node(name + "/conv", OpKind::kConv, {x, w, b}, {name + "/conv_out"}, a);
    NodeId relu = g_.add_node(name, OpKind::kRelu, {g_.node(conv).outputs[0]}, {name + "_out"});
    return g_.node(relu).outputs[0];
  }

  ValueId out(NodeId n) const { return g_.node(n).outputs[0]; }
  Graph& g_;

 private:
  at::Generator gen_;
};
}  // namespace

Graph seed_inception_model(const SeedInceptionOptions& o) {
  Graph g;
  g.name = "seed_inception";
  g.opset = 13;
  Builder b(g, o.seed);
  ValueId x = g.add_input("input_3", DType::kFloat32, {kUnknownDim, o.channels, o.height, o.width});
  ValueId c1 = b.conv_relu("conv2d_1", x, o.channels, o.f1, 1);
  ValueId c3 = b.conv_relu("conv2d_3", b.conv_relu("conv2d_2", x, o.channels, o.f2_in, 1), o.f2_in,
                           o.f2_out, 3);
  ValueId c5 = b.conv_relu("conv2d_5", b.conv_relu("conv2d_4", x, o.channels, o.f3_in, 1), o.f3_in,
                           o.f3_out, 5);
  Attrs pool;
  pool.set("kernel_shape", std::vector<int64_t>{3, 3});
  pool.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  NodeId p = g.add_node("pool_1", OpKind::kMaxPool, {x}, {"pool_1_out"}, pool);
  ValueId c6 = b.conv_relu("conv2d_6", b.out(p), o.channels, o.f4_out, 1);
  Attrs cat;
  cat.set("axis", int64_t{1});
  NodeId concat =
      g.add_node("concatenate", OpKind::kConcat, {c1, c3, c5, c6}, {"concatenate_out"}, cat);
  Attrs flat;
  flat.set("axis", int64_t{1});
  NodeId flatten =
      g.add_node("flatten_1", OpKind::kFlatten, {b.out(concat)}, {"flatten_1_out"}, flat);
  int64_t features = (o.f1 + o.f2_out + o.f3_out + o.f4_out) * o.height * o.width;
  double bound = std::sqrt(6.0 / static_cast<double>(features + o.classes));
  ValueId w = g.add_initializer("dense_1.weight", b.uniform({o.classes, features}, bound));
  ValueId bias = g.add_initializer("dense_1.bias", at::zeros({o.classes}));
  Attrs gemm;
  gemm.set("transB", int64_t{1});
  NodeId dense =
      g.add_node("dense_1", OpKind::kGemm, {b.out(flatten), w, bias}, {"dense_1_out"}, gemm);
  Attrs sm;
  sm.set("axis", int64_t{1});
  NodeId softmax = g.add_node("softmax_1", OpKind::kSoftmax, {b.out(dense)}, {"softmax_1_out"}, sm);
  g.add_output(b.out(softmax));
  return g;
}

}  // namespace fg
