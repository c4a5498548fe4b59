#!/usr/bin/python3
"""Reference data for faultgraph's tests, made with Debian's python3-torch/torchvision.

  make_reference.py models OUT   torchvision resnet50, mobilenet_v2, inception_v3
                                 (random init, fixed seed, eval mode), each exported to
                                 ONNX twice: BatchNormalization kept (<name>_bn.onnx) and
                                 folded into the convolutions (<name>_folded.onnx), with a
                                 fixed input and PyTorch's output at batch 1 and 4; and
                                 the BatchNorm-free vit_b_16 and convnext_tiny exported at
                                 opset 13 (LayerNorm decomposed) and 17 (LayerNormalization):
                                 <name>_opset13.onnx, <name>_opset17.onnx.
  make_reference.py faults OUT   a small branchy CNN and its outputs under bit flips made by
                                 PyTorch forward hooks (activation, weight, one input of an
                                 Add), for the fault-injection tests.
  make_reference.py train OUT    a small CNN with BatchNorm, exported to ONNX, and its
                                 weights, running statistics and losses after three
                                 full-batch steps of SGD (momentum, weight decay) and of Adam
                                 in training mode, for the trainer's tests.
  make_reference.py ops OUT      one small ONNX model per op case (odd shapes, every
                                 attribute the importer handles), its inputs and PyTorch's
                                 output.

Files are large (about 450 MB for the models) and never committed: OUT holds a stamp
with the hash of this script and the torch version, and the work is skipped when it is
current, so CI can cache OUT between runs.
"""
import hashlib
import io
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

warnings.filterwarnings("ignore")
torch.set_num_threads(os.cpu_count() or 1)


def stamp_of(kind):
    with open(__file__, "rb") as f:
        h = hashlib.sha256(f.read()).hexdigest()[:16]
    return f"{kind} {h} torch-{torch.__version__}\n"


def up_to_date(out, kind):
    path = os.path.join(out, "STAMP")
    return os.path.exists(path) and open(path).read() == stamp_of(kind)


def mark_done(out, kind):
    with open(os.path.join(out, "STAMP"), "w") as f:
        f.write(stamp_of(kind))


def save_npy(path, t):
    np.save(path, t.detach().numpy().astype(np.float32) if t.is_floating_point() else t.numpy())


def export(model, args, path, opset, keep_bn, input_names, output_names, dynamic=True):
    mode = torch.onnx.TrainingMode.PRESERVE if keep_bn else torch.onnx.TrainingMode.EVAL
    axes = {n: {0: "N"} for n in input_names + output_names} if dynamic else None
    buf = io.BytesIO()
    torch.onnx.export(model, args, buf, opset_version=opset, input_names=input_names,
                      output_names=output_names, dynamic_axes=axes, training=mode,
                      do_constant_folding=not keep_bn)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(buf.getvalue())
    os.replace(tmp, path)


# ----------------------------------------------------------------------------- models

MODELS = [  # name, builder, input size, opset
    ("resnet50", lambda tv: tv.resnet50(weights=None), 224, 11),
    ("mobilenet_v2", lambda tv: tv.mobilenet_v2(weights=None), 224, 13),
    ("inception_v3", lambda tv: tv.inception_v3(weights=None, aux_logits=False, init_weights=True), 299, 17),
]


# BatchNorm-free models: one export per opset (13 decomposes LayerNorm into ReduceMean, Sub,
# Pow, Sqrt, Div; 17 has LayerNormalization). name, builder, input size, opsets
BN_FREE_MODELS = [
    ("vit_b_16", lambda tv: tv.vit_b_16(weights=None), 224, (13, 17)),
    ("convnext_tiny", lambda tv: tv.convnext_tiny(weights=None), 224, (13, 17)),
]


def perturb_transformer(model, gen):
    """Random-init torchvision leaves parts that hide errors: ViT's head is all zeros (every
    output 0), ConvNeXt's layer scale is 1e-6 (the blocks add nothing), LayerNorms are
    1 and 0. Give them values that make every part count."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.uniform_(0.7, 1.3, generator=gen)
                m.bias.normal_(0.0, 0.05, generator=gen)
            elif isinstance(m, nn.Linear) and not m.weight.any():
                m.weight.normal_(0.0, 0.02, generator=gen)
                m.bias.normal_(0.0, 0.02, generator=gen)
            if hasattr(m, "layer_scale"):
                m.layer_scale.uniform_(0.1, 0.3, generator=gen)


def calibrate_batchnorm(model, size, gen):
    """Gives every BatchNorm realistic running statistics and non-trivial affine
    parameters, so that keeping and folding BN are both really tested."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(4, 3, size, size, generator=gen))
        for bn in bns:
            bn.weight.uniform_(0.7, 1.3, generator=gen)
            bn.bias.normal_(0.0, 0.05, generator=gen)
    model.eval()


def make_models(out):
    import onnx
    import torchvision.models as tv
    for name, build, size, opset in MODELS:
        torch.manual_seed(0)
        gen = torch.Generator().manual_seed(1234)
        model = build(tv)
        calibrate_batchnorm(model, size, gen)
        x4 = torch.randn(4, 3, size, size, generator=gen)
        x1 = x4[:1].clone()
        with torch.no_grad():
            y1, y4 = model(x1), model(x4)
        for tag, x, y in (("b1", x1, y1), ("b4", x4, y4)):
            save_npy(os.path.join(out, f"{name}_input_{tag}.npy"), x)
            save_npy(os.path.join(out, f"{name}_output_{tag}.npy"), y)
        for variant, keep_bn in (("bn", True), ("folded", False)):
            path = os.path.join(out, f"{name}_{variant}.onnx")
            export(model, x1, path, opset, keep_bn, ["input"], ["logits"])
            m = onnx.load(path)
            onnx.checker.check_model(m, full_check=True)
            has_bn = any(n.op_type == "BatchNormalization" for n in m.graph.node)
            assert has_bn == keep_bn, f"{path}: BatchNormalization kept={has_bn}, wanted {keep_bn}"
        torch.save(model.state_dict(), os.path.join(out, f"{name}_state.pt"))
        with open(os.path.join(out, f"{name}_parameters.txt"), "w") as f:
            f.write(f"{sum(p.numel() for p in model.parameters())}\n")
        print(f"  {name}: exported (opset {opset})", flush=True)
    for name, build, size, opsets in BN_FREE_MODELS:
        torch.manual_seed(0)
        gen = torch.Generator().manual_seed(1234)
        model = build(tv).eval()
        perturb_transformer(model, gen)
        x4 = torch.randn(4, 3, size, size, generator=gen)
        x1 = x4[:1].clone()
        with torch.no_grad():
            y1, y4 = model(x1), model(x4)
        for tag, x, y in (("b1", x1, y1), ("b4", x4, y4)):
            save_npy(os.path.join(out, f"{name}_input_{tag}.npy"), x)
            save_npy(os.path.join(out, f"{name}_output_{tag}.npy"), y)
        for opset in opsets:
            path = os.path.join(out, f"{name}_opset{opset}.onnx")
            export(model, x1, path, opset, False, ["input"], ["logits"])
            m = onnx.load(path)
            onnx.checker.check_model(m, full_check=True)
            has_ln = any(n.op_type == "LayerNormalization" for n in m.graph.node)
            assert has_ln == (opset >= 17), f"{path}: LayerNormalization={has_ln} at opset {opset}"
        torch.save(model.state_dict(), os.path.join(out, f"{name}_state.pt"))
        with open(os.path.join(out, f"{name}_parameters.txt"), "w") as f:
            f.write(f"{sum(p.numel() for p in model.parameters())}\n")
        print(f"  {name}: exported (opsets {', '.join(map(str, opsets))})", flush=True)


# -------------------------------------------------------------------------------- ops

class Fn(nn.Module):
    """A module around a function of its inputs, for one-op test cases."""
    def __init__(self, f):
        super().__init__()
        self.f = f

    def forward(self, *xs):
        return self.f(self, *xs)


def r(*shape, gen):
    return torch.randn(*shape, generator=gen)


def onnx_case(out, name, nodes, inputs, expected, initializers=(), opset=13):
    """A model made of raw ONNX nodes (for attributes PyTorch never exports)."""
    import onnx
    from onnx import helper, numpy_helper, TensorProto
    ins = [helper.make_tensor_value_info(f"in{i}", TensorProto.FLOAT, list(x.shape))
           for i, x in enumerate(inputs)]
    outs = [helper.make_tensor_value_info(f"out{i}", TensorProto.FLOAT, list(y.shape))
            for i, y in enumerate(expected)]
    inits = [numpy_helper.from_array(v, k) for k, v in initializers]
    graph = helper.make_graph(nodes, name, ins, outs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, os.path.join(out, f"{name}.onnx"))
    write_case_data(out, name, inputs, expected)


def write_case_data(out, name, inputs, expected):
    for i, x in enumerate(inputs):
        np.save(os.path.join(out, f"{name}.in{i}.npy"), np.asarray(x, dtype=np.float32))
    for i, y in enumerate(expected):
        np.save(os.path.join(out, f"{name}.out{i}.npy"), np.asarray(y, dtype=np.float32))


def torch_case(out, name, module, inputs, opset=13, dynamic=False):
    module.eval()
    with torch.no_grad():
        y = module(*inputs)
    ys = list(y) if isinstance(y, (tuple, list)) else [y]
    in_names = [f"in{i}" for i in range(len(inputs))]
    out_names = [f"out{i}" for i in range(len(ys))]
    export(module, tuple(inputs), os.path.join(out, f"{name}.onnx"), opset, False, in_names,
           out_names, dynamic=dynamic)
    write_case_data(out, name, [x.numpy() for x in inputs], [t.numpy() for t in ys])


def make_ops(out):
    from onnx import helper
    g = torch.Generator().manual_seed(7)
    T = lambda *s: r(*s, gen=g)
    T.gen = g
    x = T(2, 5, 13, 11)
    # Conv: groups, depthwise, dilation, stride, pads, 1-d
    for name, (cin, cout, k, s, p, d, grp) in {
        "conv_basic": (5, 7, 3, 1, 1, 1, 1),
        "conv_stride_pad": (5, 6, 5, 2, 2, 1, 1),
        "conv_groups": (5, 10, 3, 1, 0, 1, 5),
        "conv_dilation": (5, 4, 3, 2, 2, 2, 1),
        "conv_1x1_nobias": (5, 9, 1, 1, 0, 1, 1),
    }.items():
        conv = nn.Conv2d(cin, cout, k, s, p, d, grp, bias=name != "conv_1x1_nobias")
        torch_case(out, name, conv, [x])
    dw = nn.Conv2d(6, 6, 3, 2, 1, groups=6)
    torch_case(out, "conv_depthwise", dw, [T(1, 6, 9, 8)])
    torch_case(out, "conv1d", nn.Conv1d(3, 4, 3, 2, 1), [T(2, 3, 17)])
    # Conv with auto_pad SAME_UPPER / SAME_LOWER / VALID, and asymmetric pads
    w = T(4, 5, 3, 4).numpy()
    b = T(4).numpy()
    xn = x.numpy()
    for mode in ("SAME_UPPER", "SAME_LOWER", "VALID"):
        # SAME with stride 2: total pad per dim = max(0, (ceil(n/2)-1)*2 + k - n)
        pads = []
        for n, k in ((13, 3), (11, 4)):
            total = max(0, ((n + 1) // 2 - 1) * 2 + k - n) if mode != "VALID" else 0
            small = total // 2
            pads.append((small, total - small) if mode == "SAME_UPPER" else (total - small, small))
        xp = F.pad(x, (pads[1][0], pads[1][1], pads[0][0], pads[0][1]))
        y = F.conv2d(xp, torch.from_numpy(w), torch.from_numpy(b), stride=2)
        node = helper.make_node("Conv", ["in0", "w", "b"], ["out0"], auto_pad=mode, strides=[2, 2])
        onnx_case(out, f"conv_autopad_{mode.lower()}", [node], [xn], [y.numpy()], [("w", w), ("b", b)])
    xp = F.pad(x, (0, 2, 1, 0))
    y = F.conv2d(xp, torch.from_numpy(w), torch.from_numpy(b))
    node = helper.make_node("Conv", ["in0", "w", "b"], ["out0"], pads=[1, 0, 0, 2])
    onnx_case(out, "conv_asymmetric_pads", [node], [xn], [y.numpy()], [("w", w), ("b", b)])

    bn = nn.BatchNorm2d(5)
    with torch.no_grad():
        bn.running_mean.normal_(generator=g)
        bn.running_var.uniform_(0.5, 2.0, generator=g)
        bn.weight.normal_(generator=g)
        bn.bias.normal_(generator=g)
    bn.eval()
    with torch.no_grad():
        ybn = bn(x)
    export(bn, (x,), os.path.join(out, "batchnorm.onnx"), 13, True, ["in0"], ["out0"], dynamic=False)
    write_case_data(out, "batchnorm", [xn], [ybn.numpy()])

    unary = {
        "relu": nn.ReLU(), "relu6_clip": nn.ReLU6(), "sigmoid": nn.Sigmoid(), "tanh": nn.Tanh(),
        "leaky_relu": nn.LeakyReLU(0.17), "hardsigmoid": nn.Hardsigmoid(),
        "hardswish": nn.Hardswish(), "softmax_dim1": nn.Softmax(dim=1),
        "log_softmax_last": nn.LogSoftmax(dim=-1), "dropout": nn.Dropout(0.3),
        "identity": Fn(lambda m, t: t.clone()),
    }
    for name, mod in unary.items():
        torch_case(out, name, mod, [x * 4], opset=14 if name == "hardswish" else 13)
    torch_case(out, "clip_opset11", Fn(lambda m, t: torch.clamp(t, -0.5, 0.75)), [x], opset=11)
    torch_case(out, "softmax_opset11", nn.Softmax(dim=1), [T(3, 7)], opset=11)
    # PyTorch drops Dropout from eval-mode exports; other exporters keep it (with a mask).
    onnx_case(out, "dropout_node", [helper.make_node("Dropout", ["in0"], ["out0", "mask"])],
              [xn], [xn])
    onnx_case(out, "hardsigmoid_default", [helper.make_node("HardSigmoid", ["in0"], ["out0"])],
              [xn], [torch.clamp(x * 0.2 + 0.5, 0, 1).numpy()])

    a, b2 = T(2, 5, 13, 11), T(5, 1, 11)
    for name, f in {"add": torch.add, "sub": torch.sub, "mul": torch.mul}.items():
        torch_case(out, f"{name}_broadcast", Fn(lambda m, p, q, f=f: f(p, q)), [a, b2])
    torch_case(out, "div_broadcast", Fn(lambda m, p, q: p / q), [a, b2.abs() + 0.5])
    torch_case(out, "concat_axis1", Fn(lambda m, p, q: torch.cat([p, q, p], 1)), [x, T(2, 3, 13, 11)])
    torch_case(out, "split_uneven", Fn(lambda m, p: torch.split(p, [2, 3], dim=1)), [x])
    torch_case(out, "split_opset11", Fn(lambda m, p: torch.split(p, [4, 9], dim=2)), [x], opset=11)

    torch_case(out, "maxpool_3s2p1", nn.MaxPool2d(3, 2, 1), [x])
    torch_case(out, "maxpool_ceil", nn.MaxPool2d(3, 2, ceil_mode=True), [x])
    torch_case(out, "maxpool_dilated", nn.MaxPool2d(2, 1, 0, dilation=2), [x])
    torch_case(out, "avgpool_include_pad", nn.AvgPool2d(3, 2, 1, count_include_pad=True), [x])
    torch_case(out, "avgpool_exclude_pad", nn.AvgPool2d(3, 2, 1, count_include_pad=False), [x])
    torch_case(out, "avgpool_ceil", nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False), [x])
    # Asymmetric AveragePool pads (not exported by PyTorch): mean over real elements only.
    yap = F.avg_pool2d(F.pad(x, (0, 1, 1, 0)), 2, 2, count_include_pad=True)
    ones = F.avg_pool2d(F.pad(torch.ones(1, 1, 13, 11), (0, 1, 1, 0)), 2, 2, count_include_pad=True)
    node = helper.make_node("AveragePool", ["in0"], ["out0"], kernel_shape=[2, 2], strides=[2, 2],
                            pads=[1, 0, 0, 1])
    onnx_case(out, "avgpool_asymmetric_exclude", [node], [xn], [(yap / ones).numpy()])
    torch_case(out, "global_avgpool", nn.AdaptiveAvgPool2d(1), [x])
    torch_case(out, "reduce_mean", Fn(lambda m, p: p.mean(dim=(2, 3), keepdim=False)), [x])

    lin = nn.Linear(7, 5)
    torch_case(out, "gemm_linear", lin, [T(3, 7)])
    ga, gb, gc = T(7, 3).numpy(), T(5, 7).numpy(), T(3, 1).numpy()
    node = helper.make_node("Gemm", ["in0", "b", "c"], ["out0"], alpha=0.5, beta=2.0, transA=1, transB=1)
    onnx_case(out, "gemm_trans_alpha_beta", [node], [ga], [0.5 * ga.T @ gb.T + 2.0 * gc], [("b", gb), ("c", gc)])
    torch_case(out, "matmul_batched", Fn(lambda m, p, q: p @ q), [T(2, 3, 4, 5), T(3, 5, 6)])
    torch_case(out, "matmul_vector", Fn(lambda m, p, q: p @ q), [T(4, 5), T(5)])

    torch_case(out, "flatten", nn.Flatten(), [x])
    # The view(x.size(0), -1) pattern: Shape -> Gather -> Unsqueeze -> Concat -> Reshape,
    # exported with a dynamic batch so that the chain stays in the graph.
    torch_case(out, "reshape_shape_chain", Fn(lambda m, p: p.view(p.size(0), -1)), [x], dynamic=True)
    torch_case(out, "reshape_static", Fn(lambda m, p: p.reshape(2, 65, -1)), [x])
    torch_case(out, "transpose", Fn(lambda m, p: p.permute(0, 2, 3, 1) * 1.0), [x])
    torch_case(out, "squeeze_unsqueeze", Fn(lambda m, p: p.unsqueeze(1).squeeze(3) + 0), [T(2, 3, 1, 4)])
    torch_case(out, "squeeze_opset11", Fn(lambda m, p: p.unsqueeze(0).squeeze(2) + 0), [T(2, 1, 4)], opset=11)
    torch_case(out, "pad_constant", Fn(lambda m, p: F.pad(p, (1, 2, 0, 3), value=0.25)), [x])
    torch_case(out, "pad_reflect", nn.ReflectionPad2d((2, 1, 1, 2)), [x])
    torch_case(out, "pad_edge", nn.ReplicationPad2d((0, 3, 2, 1)), [x])
    torch_case(out, "slice_steps", Fn(lambda m, p: p[:, 1:4, ::2, -5:-1]), [x])
    torch_case(out, "slice_chain", Fn(lambda m, p: p[:, :, : p.size(2) // 2]), [x], dynamic=True)
    torch_case(out, "gather_index", Fn(lambda m, p: p[:, 3]), [x])
    torch_case(out, "constant_add", Fn(lambda m, p: p + torch.tensor([1.5, -2.0, 0.5, 0.0, 3.0]).view(1, 5, 1, 1)), [x])
    make_transformer_ops(out, T)
    print(f"  op cases written", flush=True)


def make_transformer_ops(out, T):
    """The ops of transformer-era exports (vit_b_16, convnext_tiny at opsets 13 and 17)."""
    from onnx import helper, TensorProto
    x = T(2, 5, 13, 11)
    pos = x.abs() + 0.25
    torch_case(out, "pow_square", Fn(lambda m, p: p.pow(2)), [x])
    torch_case(out, "pow_broadcast", Fn(lambda m, p, q: torch.pow(p, q)), [pos, T(5, 1, 11)])
    torch_case(out, "sqrt", Fn(lambda m, p: torch.sqrt(p)), [pos])
    torch_case(out, "erf", Fn(lambda m, p: torch.erf(p)), [x * 2])
    torch_case(out, "gelu_exact", nn.GELU(), [x * 3])
    q = x.clone()
    q[:, 1:3] = T(2, 2, 13, 11)
    torch_case(out, "equal_where", Fn(lambda m, p, r: torch.where(p == r, p, r * 2)), [x, q])
    torch_case(out, "greater_less", Fn(lambda m, p, r: torch.where(p > r, p, r) + (p < r).float()), [x, T(5, 1, 11)])
    torch_case(out, "not_mask", Fn(lambda m, p: (~(p > 0.5)).float() * p), [x])
    torch_case(out, "expand_static", Fn(lambda m, p: p.expand(3, 5, 4) + 0), [T(5, 1)])
    # ViT's class token: expand(n, -1, -1) with a dynamic batch exports as ConstantOfShape,
    # Equal, Where, Expand over the shape.
    torch_case(out, "expand_dynamic", Fn(lambda m, t, p: torch.cat([t.expand(p.size(0), -1, -1), p], 1)),
               [T(1, 1, 6), T(3, 4, 6)], dynamic=True)
    torch_case(out, "mod_fmod", Fn(lambda m, p, r: torch.fmod(p, r)), [x * 5, pos])
    # Integer Mod (fmod 0): the sign of the divisor, like Python's %.
    a_int, b_int = torch.randint(-50, 50, (4, 7), generator=T.gen), torch.randint(1, 9, (7,), generator=T.gen)
    b_int = b_int * torch.where(torch.arange(7) % 2 == 0, 1, -1)
    nodes = [helper.make_node("Cast", ["in0"], ["a"], to=TensorProto.INT64),
             helper.make_node("Cast", ["in1"], ["b"], to=TensorProto.INT64),
             helper.make_node("Mod", ["a", "b"], ["m"], fmod=0),
             helper.make_node("Cast", ["m"], ["out0"], to=TensorProto.FLOAT)]
    onnx_case(out, "mod_int", nodes, [a_int.float().numpy(), b_int.float().numpy()],
              [torch.remainder(a_int, b_int).float().numpy()])
    torch_case(out, "range_dynamic", Fn(lambda m, p: p + torch.arange(p.size(-1), dtype=torch.float32) * 0.5),
               [x], dynamic=True)
    # Range in floats with a fractional step, hand-written (start, limit, delta initializers).
    steps = np.arange(-1.25, 2.9, 0.375, dtype=np.float64).astype(np.float32)
    bump = T(len(steps)).numpy()
    nodes = [helper.make_node("Range", ["start", "limit", "delta"], ["r"]),
             helper.make_node("Add", ["r", "in0"], ["out0"])]
    onnx_case(out, "range_float", nodes, [bump], [steps + bump],
              [("start", np.array(-1.25, dtype=np.float32)), ("limit", np.array(2.9, dtype=np.float32)),
               ("delta", np.array(0.375, dtype=np.float32))])
    def scatter(m, p, u):
        y = p.clone()
        y[:, 2] = u
        return y * 1.0
    torch_case(out, "scatter_nd_slice", Fn(scatter), [x, T(2, 13, 11)])
    for reduction, fn in (("add", torch.add), ("mul", torch.mul)):
        idx = np.array([[1, 0], [0, 3], [1, 0]], dtype=np.int64)  # a repeated index combines
        data, upd = T(2, 4, 5), T(3, 5)
        want = data.clone()
        for i, (d0, d1) in enumerate(idx):
            want[d0, d1] = fn(want[d0, d1], upd[i])
        node = helper.make_node("ScatterND", ["in0", "idx", "in1"], ["out0"], reduction=reduction)
        onnx_case(out, f"scatter_nd_{reduction}", [node], [data.numpy(), upd.numpy()], [want.numpy()],
                  [("idx", idx)], opset=16)
    ln = nn.LayerNorm(11)
    ln2 = nn.LayerNorm([13, 11], eps=1e-3)
    for mod in (ln, ln2):
        with torch.no_grad():
            mod.weight.uniform_(0.5, 1.5, generator=T.gen)
            mod.bias.normal_(generator=T.gen)
    torch_case(out, "layernorm_opset17", ln, [x * 3 + 1], opset=17)
    torch_case(out, "layernorm_2d_opset17", ln2, [x * 3 + 1], opset=17)
    torch_case(out, "layernorm_opset13", ln, [x * 3 + 1], opset=13)
    # All three outputs (Mean and InvStdDev keep the normalised dims as 1).
    w, b = T(11).numpy(), T(11).numpy()
    y, mean, rstd = torch.native_layer_norm(x, [11], torch.from_numpy(w), torch.from_numpy(b), 1e-5)
    node = helper.make_node("LayerNormalization", ["in0", "w", "b"], ["out0", "out1", "out2"], axis=-1,
                            epsilon=1e-5)
    onnx_case(out, "layernorm_three_outputs", [node], [x.numpy()],
              [y.numpy(), mean.reshape(2, 5, 13, 1).numpy(), rstd.reshape(2, 5, 13, 1).numpy()],
              [("w", w), ("b", b)], opset=17)
    # Attention-shaped batched MatMul with broadcasting, and softmax over the last dim.
    torch_case(out, "attention_scores", Fn(lambda m, qq, kk, vv: torch.softmax(qq @ kk.transpose(-2, -1) * 0.35, -1) @ vv),
               [T(2, 3, 7, 8), T(1, 3, 7, 8), T(2, 3, 7, 5)])


# ----------------------------------------------------------------------------- faults

class Branchy(nn.Module):
    """conv1 -> relu1 feeds two branches (3x3 conv a, 1x1 conv b) that meet in an Add;
    b also goes on to the Concat beside relu2, so one input edge of the Add differs from
    the value b itself."""
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2a = nn.Conv2d(8, 8, 3, padding=1)
        self.conv2b = nn.Conv2d(8, 8, 1)
        self.add_in = nn.Identity()  # the Add's second input edge, for a hook
        self.relu2 = nn.ReLU()
        self.fc = nn.Linear(24, 10)

    def forward(self, x):
        r1 = self.relu1(self.conv1(x))
        a, b = self.conv2a(r1), self.conv2b(r1)
        s = self.relu2(a + self.add_in(b))
        cat = torch.cat([s, b, r1], 1)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(cat, 1), 1))


class Scores(nn.Module):
    """Q K^T / sqrt(d): a module of its own, so a forward hook sees the attention scores."""
    def __init__(self, head_width):
        super().__init__()
        self.scale = head_width ** -0.5

    def forward(self, q, k):
        return (q @ k.transpose(-2, -1)) * self.scale


class TinyEncoderLayer(nn.Module):
    """A pre-norm transformer encoder layer with its attention spelt out module by module
    (q, k, v projections, scores, softmax, output projection, GELU MLP), as the literature's
    attention fault sites name them."""
    def __init__(self, width=8, heads=2):
        super().__init__()
        self.heads, self.hw = heads, width // heads
        self.ln_1 = nn.LayerNorm(width)
        self.q, self.k, self.v = nn.Linear(width, width), nn.Linear(width, width), nn.Linear(width, width)
        self.scores = Scores(self.hw)
        self.softmax = nn.Softmax(dim=-1)
        self.out_proj = nn.Linear(width, width)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width))
        self.head = nn.Linear(width, 5)

    def split(self, t):
        n, tokens, _ = t.shape
        return t.reshape(n, tokens, self.heads, self.hw).transpose(1, 2)

    def forward(self, x):
        h = self.ln_1(x)
        a = self.softmax(self.scores(self.split(self.q(h)), self.split(self.k(h)))) @ self.split(self.v(h))
        x = x + self.out_proj(a.transpose(1, 2).reshape(x.shape))
        x = x + self.mlp(self.ln_2(x))
        return self.head(x[:, 0])


def make_attention_faults(out):
    """Bit flips in the attention scores (before the softmax), the attention weights (after
    it) and the Q projection, made by forward hooks; faultgraph flips the same element of
    the matching node's output (attention_sites.txt)."""
    import onnx
    torch.manual_seed(4)
    model = TinyEncoderLayer().eval()
    x = torch.randn(2, 5, 8, generator=torch.Generator().manual_seed(6))
    path = os.path.join(out, "attention.onnx")
    export(model, (x,), path, 17, False, ["input"], ["logits"])
    names = {n.name: n for n in onnx.load(path).graph.node}
    last = lambda prefix, op: [k for k, n in names.items() if k.startswith(prefix) and n.op_type == op][-1]
    sites = {"scores": last("/scores/", "Mul"), "softmax": last("/softmax/", "Softmax"),
             "q": last("/q/", "Add")}
    save_npy(os.path.join(out, "attention_input.npy"), x)
    with torch.no_grad():
        save_npy(os.path.join(out, "attention_golden.npy"), model(x))
        # Per sample, the scores are heads x tokens x tokens = 50 elements: flip the lowest
        # exponent bit (x2 or /2) of element 27 (head 1, query 0, key 2); the head reads
        # token 0 only, so the fault must be in query 0's row (q: token 0's features).
        for name, module, element, bit in (("scores", model.scores, 27, 23),
                                           ("softmax", model.softmax, 27, 23),
                                           ("q", model.q, 5, 23)):
            h = module.register_forward_hook(lambda mod, inp, o, e=element, b=bit: flip_bit(o, e, b))
            save_npy(os.path.join(out, f"attention_{name}.npy"), model(x))
            h.remove()
            sites[f"{name}_element"], sites[f"{name}_bit"] = element, bit
    with open(os.path.join(out, "attention_sites.txt"), "w") as f:
        for k, v in sites.items():
            f.write(f"{k} {v}\n")


def flip_bit(t, element, bit):
    """Flips `bit` of flat element `element` of every sample of float32 tensor t."""
    out = t.clone().contiguous()
    ints = out.view(torch.int32).view(out.shape[0], -1)
    ints[:, element] ^= torch.tensor(1 << bit if bit < 31 else -(1 << 31), dtype=torch.int32)
    return out


def make_faults(out):
    import onnx
    torch.manual_seed(3)
    model = Branchy().eval()
    x = torch.randn(2, 3, 9, 9, generator=torch.Generator().manual_seed(5))
    path = os.path.join(out, "branchy.onnx")
    export(model, (x,), path, 13, False, ["input"], ["logits"])
    m = onnx.load(path)
    sites = {}
    for n in m.graph.node:
        if n.op_type == "Relu" and "relu1" in n.name:
            sites["relu1"] = n.name
        if n.op_type == "Add":
            sites["add"] = n.name
        if n.op_type == "Conv" and "conv2a" in n.name:
            sites["conv2a"] = n.name
    assert len(sites) == 3, sites
    save_npy(os.path.join(out, "branchy_input.npy"), x)
    with torch.no_grad():
        save_npy(os.path.join(out, "branchy_golden.npy"), model(x))
        # The activation case flips the exponent's lowest bit (x2 or /2) of an element that
        # is well above 0 in every sample: the faulty output stays finite and moderate, so
        # the test's relative tolerance checks every output, not one huge value.
        seen = {}
        h = model.relu1.register_forward_hook(lambda mod, inp, o: seen.setdefault("o", o))
        model(x)
        h.remove()
        big = (seen["o"].reshape(x.shape[0], -1) > 0.5).all(0).nonzero().flatten()
        element = int(big[len(big) // 2])
        cases = {"activation_relu1": (model.relu1, element, 23), "add_edge": (model.add_in, 100, 31)}
        for name, (module, element, bit) in cases.items():
            h = module.register_forward_hook(lambda mod, inp, o, e=element, b=bit: flip_bit(o, e, b))
            save_npy(os.path.join(out, f"branchy_{name}.npy"), model(x))
            h.remove()
            sites[f"{name}_element"], sites[f"{name}_bit"] = element, bit
        w = model.conv2a.weight
        saved = w.detach().clone()
        w.copy_(flip_bit(w.view(1, -1), 123, 23).view_as(w))
        save_npy(os.path.join(out, "branchy_weight_conv2a.npy"), model(x))
        w.copy_(saved)
        sites["weight_conv2a_element"], sites["weight_conv2a_bit"] = 123, 23
    with open(os.path.join(out, "branchy_sites.txt"), "w") as f:
        for k, v in sites.items():
            f.write(f"{k} {v}\n")
    make_attention_faults(out)
    print("  fault cases written", flush=True)


# ------------------------------------------------------------------------------ train

class TrainNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 6, 3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(6)
        self.fc = nn.Linear(6, 3)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def make_train(out):
    gen = torch.Generator().manual_seed(99)
    x = torch.rand(8, 1, 6, 6, generator=gen)
    y = torch.randint(0, 3, (8,), generator=gen)
    save_npy(os.path.join(out, "x.npy"), x)
    save_npy(os.path.join(out, "y.npy"), y)
    for name in ("sgd", "adam"):
        torch.manual_seed(0)
        net = TrainNet().eval()
        export(net, x[:1], os.path.join(out, "model.onnx"), 13, True, ["input"], ["logits"])
        net.train()
        if name == "sgd":
            opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
        else:
            opt = torch.optim.Adam(net.parameters(), lr=1e-2, weight_decay=1e-3)
        losses = []
        for _ in range(3):
            opt.zero_grad()
            loss = F.cross_entropy(net(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        for key, value in net.state_dict().items():
            if not key.endswith("num_batches_tracked"):
                save_npy(os.path.join(out, f"{name}_after_{key}.npy"), value)
        with open(os.path.join(out, f"{name}_losses.txt"), "w") as f:
            f.write(" ".join(f"{v:.9g}" for v in losses) + "\n")
    print("  training steps written", flush=True)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("models", "ops", "faults", "train"):
        sys.exit(__doc__)
    kind, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    if up_to_date(out, kind):
        print(f"make_reference: {out} is up to date")
        return
    print(f"make_reference: writing {kind} to {out}", flush=True)
    {"models": make_models, "ops": make_ops, "faults": make_faults, "train": make_train}[kind](out)
    mark_done(out, kind)


if __name__ == "__main__":
    main()
