#!/usr/bin/python3
"""How many FLOPs an exact recompute of a fault's cone needs at best, measured in PyTorch.

For random single-bit flips at uniformly sampled elements of the convolution outputs of a
reference model (scripts/make_reference.py weights, BatchNorm kept), one faulty forward per
trial records every convolution's input and compares it bit for bit with the golden one.
It then counts, over the convolutions whose input changed, the multiply-adds that each way
of recomputing them needs, as a share of all convolutions' multiply-adds in a forward:

  box      the output box whose windows read a changed input element (the tightest box of
           an exact windowed recompute: no rounding of window sizes, no halo beyond it)
  pos      every input position with a change, all its channels (a sparse update by GEMM)
  chanpos  the changed positions x the changed channels
  elem     only the changed input elements (a scatter of single elements)

This is the floor under faultgraph's `cone` (which reports the FLOPs it recomputed per
trial): with every kernel at a full forward's efficiency, `box` caps the speed-up over a
full forward per trial at 1 / box.

  bench/cone_flops_bound.py [--model resnet50|mobilenet_v2|inception_v3] [--trials 80]
      [--seed 1] [--refdata ~/.cache/faultgraph/refdata/models]
"""
import argparse
import os

import numpy as np
import torch
import torchvision.models as tv


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="resnet50", choices=("resnet50", "mobilenet_v2", "inception_v3"))
    ap.add_argument("--trials", type=int, default=80)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--refdata", default=os.path.join(
        os.environ.get("FG_REFDATA_DIR", os.path.expanduser("~/.cache/faultgraph/refdata")), "models"))
    a = ap.parse_args()
    build = {"resnet50": lambda: tv.resnet50(weights=None),
             "mobilenet_v2": lambda: tv.mobilenet_v2(weights=None),
             "inception_v3": lambda: tv.inception_v3(weights=None, aux_logits=False, init_weights=False)}
    model = build[a.model]()
    model.load_state_dict(torch.load(os.path.join(a.refdata, f"{a.model}_state.pt")))
    model.eval()
    size = 299 if a.model == "inception_v3" else 224
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(a.seed))
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    seen = {}
    outs = {}
    pre = [c.register_forward_pre_hook(lambda m, i: seen.__setitem__(m, i[0].clone())) for c in convs]
    post = [c.register_forward_hook(lambda m, i, o: outs.__setitem__(m, o.clone())) for c in convs]
    with torch.inference_mode():
        golden = model(x)
    golden_in = dict(seen)
    for h in post:
        h.remove()
    macs = {c: outs[c].numel() * c.in_channels // c.groups * c.kernel_size[0] * c.kernel_size[1] for c in convs}
    total = float(sum(macs.values()))
    sizes = np.array([outs[c].numel() for c in convs], dtype=float)
    rng = np.random.default_rng(a.seed)
    kinds = ("box", "pos", "chanpos", "elem")
    per_outcome = {}
    for _ in range(a.trials):
        c = convs[rng.choice(len(convs), p=sizes / sizes.sum())]
        element, bit = int(rng.integers(outs[c].numel())), int(rng.integers(32))

        def flip(m, i, o):
            o.view(torch.int32).view(-1)[element] ^= (1 << bit) if bit < 31 else -(1 << 31)
            return o
        seen.clear()
        h = c.register_forward_hook(flip)
        with torch.inference_mode():
            y = model(x)
        h.remove()
        if torch.equal(y.view(torch.int32), golden.view(torch.int32)):
            outcome = "masked"
        elif not torch.isfinite(y).all():
            outcome = "due"
        else:
            outcome = "tolerable" if int(y.argmax()) == int(golden.argmax()) else "sdc"
        cost = dict.fromkeys(kinds, 0.0)
        for m in convs:
            changed = (golden_in[m].view(torch.int32) != seen[m].view(torch.int32))[0]  # C x H x W
            if not changed.any():
                continue
            k = m.kernel_size[0] * m.kernel_size[1]
            per_group_out = m.out_channels // m.groups
            at_pos = changed.any(0)
            cost["elem"] += int(changed.sum()) * per_group_out * k
            if m.groups == 1:
                cost["pos"] += int(at_pos.sum()) * m.in_channels * m.out_channels * k
                cost["chanpos"] += int(at_pos.sum()) * int(changed.any(2).any(1).sum()) * m.out_channels * k
            else:
                cost["pos"] += int(changed.sum()) * per_group_out * k
                cost["chanpos"] += int(changed.sum()) * per_group_out * k
            ys, xs = torch.nonzero(at_pos, as_tuple=True)
            span = 1
            for lo, hi, d in ((int(ys.min()), int(ys.max()), 0), (int(xs.min()), int(xs.max()), 1)):
                s, p, kk, n = m.stride[d], m.padding[d], m.kernel_size[d], outs[m].shape[2 + d]
                first = max(0, -(-(lo + p - (kk - 1) * m.dilation[d]) // s))
                last = min(n - 1, (hi + p) // s)
                span *= max(0, last - first + 1)
            cost["box"] += span * m.out_channels * m.in_channels // m.groups * k
        per_outcome.setdefault(outcome, []).append({kk: v / total for kk, v in cost.items()})
    every = [t for ts in per_outcome.values() for t in ts]
    print(f"{a.model}: {a.trials} trials, outcomes " +
          ", ".join(f"{o} {len(t)}" for o, t in sorted(per_outcome.items())))
    print("share of a forward's convolution multiply-adds recomputed per trial (mean):")
    print(f"  {'over':12s}" + "".join(f"{k:>9s}" for k in kinds))
    for name, ts in [("all trials", every)] + sorted(per_outcome.items()):
        print(f"  {name:12s}" + "".join(f"{100 * np.mean([t[k] for t in ts]):8.1f}%" for k in kinds))
    box = np.mean([t["box"] for t in every])
    print(f"an exact cone recompute at a full forward's efficiency: at most {1 / box:.1f}x a full forward per trial")


if __name__ == "__main__":
    main()
