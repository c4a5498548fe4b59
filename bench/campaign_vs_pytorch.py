#!/usr/bin/python3
"""A fault-injection campaign: faultgraph vs a plain PyTorch script with forward hooks.

The same campaign on both sides, in one run: single-bit flips at uniformly sampled
elements of the convolution outputs of torchvision's ResNet-50, MobileNetV2 and
InceptionV3 at full size (the reference models of scripts/make_reference.py: same
weights, BatchNorm kept so that a convolution's output is the same tensor on both sides),
on the same input images, at the same thread count.

- faultgraph: `faultgraph campaign faults` exports the fault list; `faultgraph campaign
  run` runs it with its defaults (golden cache per input, windowed cone recompute, one
  trial at a time per --threads; --recompute cone,downstream to compare modes).
- PyTorch (what PyTorchFI and its peers do): for every trial of that same list, one full
  forward with a forward hook on the convolution that flips the bit, under
  torch.inference_mode(), eval mode, the same thread count; one golden forward per input.
  Its configuration: tcmalloc preloaded, the allocator faultgraph links (--pytorch-malloc
  tuned for glibc's malloc tuned as faultgraph tunes it where it runs on glibc,
  bench/malloc_env.py: within +/-5% of tcmalloc here, faster in one of four cells; default
  for glibc's defaults), and OpenBLAS on one thread (OPENBLAS_NUM_THREADS=1, as faultgraph runs it; --pytorch-blas-threads default
  to compare), and the model and images in PyTorch's channels-last layout (NHWC: oneDNN's
  convolutions then run without reordering every activation to and from their blocked
  layout; measured here on 300-trial campaigns, 1 / 2 threads: ResNet-50 10.9 / 23.4 ->
  12.4 / 23.9 trials/s, MobileNetV2 75.2 / 71.5 -> 80.3 / 91.5, InceptionV3 6.8 / 12.6 ->
  10.8 / 18.0; --pytorch-memory-format contiguous to compare). The hook flips the same
  logical element in either layout.

Trials whose outcomes differ are listed with the golden top-2 logit gap (a gap within
floating-point noise lets a last-bit difference change the top-1 class).

Prints trials/s of each side, the ratio (higher is better) and how many trials got the
same outcome (masked, tolerable, sdc1, sdc5, due) on both sides. With --repeat N, each
model's campaigns run N rounds, which side goes first alternating from round to round; a
rate is the median over the rounds (single runs on a shared machine move by up to 20%), a
ratio the median of the rounds' ratios (each pairs rates measured minutes apart), the
range is printed beside them, and faultgraph's outcomes must be the same in every round.

  bench/campaign_vs_pytorch.py [--faultgraph build/release/faultgraph] [--threads 1,2]
      [--models resnet50,mobilenet_v2,inception_v3] [--trials 200] [--inputs 4]
      [--recompute cone,downstream] [--pytorch-malloc tcmalloc|tuned|default]
      [--pytorch-blas-threads 1|default] [--pytorch-memory-format contiguous|channels_last]
      [--order pytorch-first|faultgraph-first] [--repeat N]
      [--refdata ~/.cache/faultgraph/refdata/models]
"""
import argparse
import csv
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import malloc_env  # noqa: E402
SIZES = {"resnet50": 224, "mobilenet_v2": 224, "inception_v3": 299}


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_fg = next((p for p in (os.path.join(ROOT, "build", b, "faultgraph") for b in ("release", "dev"))
                       if os.path.exists(p)), None)
    ap.add_argument("--faultgraph", default=default_fg)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--models", default="resnet50,mobilenet_v2,inception_v3")
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--inputs", type=int, default=4)
    ap.add_argument("--recompute", default="cone")
    ap.add_argument("--pytorch-malloc", choices=("tuned", "tcmalloc", "default"), default="tcmalloc")
    ap.add_argument("--workers", type=int, default=0,
                    help="faultgraph's --workers (default: its own choice by model size)")
    # OpenBLAS's own threads fight the intra-op threads for the cores: PyTorch's MobileNetV2
    # campaign ran 104 trials/s at 2 threads with OPENBLAS_NUM_THREADS=1, 30 without.
    ap.add_argument("--pytorch-blas-threads", default="1",
                    help="OPENBLAS_NUM_THREADS for the PyTorch side (default: 1, its best here)")
    ap.add_argument("--order", choices=("pytorch-first", "faultgraph-first"), default="pytorch-first",
                    help="which side runs its campaigns first for each model")
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds per model, alternating which side runs first; rates are medians")
    ap.add_argument("--pytorch-memory-format", choices=("contiguous", "channels_last"),
                    default="channels_last",
                    help="the PyTorch side's tensor layout (default: channels_last, its best here)")
    ap.add_argument("--refdata", default=os.path.join(
        os.environ.get("FG_REFDATA_DIR", os.path.expanduser("~/.cache/faultgraph/refdata")), "models"))
    a = ap.parse_args()
    if a.repeat < 1:
        ap.error("--repeat must be at least 1")
    if not a.faultgraph or not os.path.exists(a.faultgraph):
        sys.exit("no faultgraph binary: build it (scripts/setup release) or pass --faultgraph")
    return a


def write_images(folder, n, size, seed):
    """n random RGB PNG images in a folder dataset (test/ and train/ splits, one class)."""
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(seed)
    for split, count in (("test", n), ("train", 1)):
        d = os.path.join(folder, split, "c0")
        os.makedirs(d, exist_ok=True)
        for i in range(count):
            Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(
                os.path.join(d, f"{i:04d}.png"))


def load_images(folder):
    """The test images as faultgraph's folder loader gives them: RGB, / 255, N x 3 x H x W."""
    import numpy as np
    import torch
    from PIL import Image
    d = os.path.join(folder, "test", "c0")
    arrays = [np.asarray(Image.open(os.path.join(d, f)).convert("RGB")) for f in sorted(os.listdir(d))]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).to(torch.float32).div_(255.0).contiguous()


def outcome(golden, faulty):
    import torch
    if torch.equal(golden.view(torch.int32), faulty.view(torch.int32)):
        return "masked"
    if not torch.isfinite(faulty).all():
        return "due"
    g = int(golden.argmax())
    if int(faulty.argmax()) == g:
        return "tolerable"
    top = faulty.flatten().topk(min(5, faulty.numel())).indices
    return "sdc1" if (top == g).any() else "sdc5"


def pytorch_campaign(name, state, onnx_path, images, faults, threads, memory_format):
    """One forward per trial with a bit-flipping forward hook; returns (seconds, outcomes)."""
    import onnx
    import torch
    import torchvision.models as tv
    torch.set_num_threads(threads)
    build = {"resnet50": lambda: tv.resnet50(weights=None),
             "mobilenet_v2": lambda: tv.mobilenet_v2(weights=None),
             "inception_v3": lambda: tv.inception_v3(weights=None, aux_logits=False, init_weights=False)}
    model = build[name]()
    model.load_state_dict(torch.load(state))
    model.eval()
    if memory_format == "channels_last":
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    # ONNX Conv nodes and the conv modules, both in execution order.
    conv_names = [n.name for n in onnx.load(onnx_path).graph.node if n.op_type == "Conv"]
    order = []
    hooks = [m.register_forward_hook(lambda mod, i, o: order.append(mod))
             for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.inference_mode():
        model(images[:1])
    for h in hooks:
        h.remove()
    assert len(order) == len(conv_names), (len(order), len(conv_names))
    module_of = dict(zip(conv_names, order))

    def flipper(element, bit):
        def hook(mod, inputs, out):
            # The element's logical (N, C, H, W) index, whatever the layout in memory.
            index, rest = [], element
            for d in reversed(out.shape):
                index.append(rest % d)
                rest //= d
            out.view(torch.int32)[tuple(reversed(index))] ^= (1 << bit) if bit < 31 else -(1 << 31)
            return out
        return hook

    results = []
    start = time.perf_counter()
    with torch.inference_mode():
        golden = [model(images[i:i + 1]) for i in range(images.shape[0])]
        gaps = [float(g.flatten().topk(2).values[0] - g.flatten().topk(2).values[1]) for g in golden]
        for f in faults:
            h = module_of[f["node"]].register_forward_hook(flipper(int(f["element"]), int(f["bit"])))
            y = model(images[f["pos"]:f["pos"] + 1])
            h.remove()
            results.append(outcome(golden[f["pos"]], y))
    return time.perf_counter() - start, results, gaps


def faultgraph_campaign(a, spec, db, threads, mode):
    """faultgraph's run of the spec: (trials/s, % of a forward recomputed, outcomes in trial order)."""
    out = subprocess.run([a.faultgraph, "--threads", str(threads), "campaign", "run", spec,
                          "--db", db, "--recompute", mode]
                         + (["--workers", str(a.workers)] if a.workers else []),
                         check=True, capture_output=True, text=True,
                         env=malloc_env.without_malloc_settings(os.environ)).stdout
    # The rate faultgraph prints is timed to the microsecond; "in 0.9 s" is rounded.
    rate = float(re.search(r"ran \d+ trials in [0-9.]+ s \(([0-9.]+) trials/s\)", out).group(1))
    frac = re.search(r"recomputed per trial: ([0-9.]+)%", out).group(1)
    export = subprocess.run([a.faultgraph, "campaign", "export", db], check=True,
                            capture_output=True, text=True).stdout
    return rate, frac, [r["outcome"] for r in csv.DictReader(export.splitlines())]


def main():
    a = parse_args()
    blas = {} if a.pytorch_blas_threads == "default" else {"OPENBLAS_NUM_THREADS": a.pytorch_blas_threads}
    if a.pytorch_malloc != "default" or blas:
        if a.pytorch_malloc == "tuned":
            malloc_env.use_tuned_malloc(blas)
        elif a.pytorch_malloc == "tcmalloc":
            malloc_env.use_tcmalloc(blas)
        elif any(os.environ.get(k) != v for k, v in blas.items()):
            os.execve(sys.executable, [sys.executable] + sys.argv, dict(os.environ, **blas))
    import torch
    print(f"PyTorch {torch.__version__} eager (inference_mode, eval, one forward per trial with a "
          f"forward hook; {malloc_env.describe()}; OpenBLAS threads "
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'default')}; {a.pytorch_memory_format} tensors); "
          f"faultgraph {a.faultgraph}")
    rows = []
    for name in a.models.split(","):
        size = SIZES[name]
        onnx_path = os.path.join(a.refdata, f"{name}_bn.onnx")
        state = os.path.join(a.refdata, f"{name}_state.pt")
        if not os.path.exists(onnx_path):
            sys.exit(f"{onnx_path}: missing; run scripts/test once (it makes the reference models)")
        with tempfile.TemporaryDirectory() as work:
            write_images(os.path.join(work, "imgs"), a.inputs, size, seed=7)
            spec = os.path.join(work, "spec.yml")
            with open(spec, "w") as f:
                f.write(f"model: {onnx_path}\ndataset: folder:{work}/imgs\n"
                        f"dataset_options: {{image_size: {size}}}\n"
                        f"inputs: {{count: {a.inputs}, correct_only: false}}\n"
                        "targets: [{op: Conv}]\nfault: {model: bit_flip}\n"
                        f"sampling: {{trials: {a.trials}}}\nseed: 1\n")
            subprocess.run([a.faultgraph, "campaign", "faults", spec, "-o", f"{work}/faults.csv"],
                           check=True, stdout=subprocess.DEVNULL)
            with open(f"{work}/faults.csv") as f:
                faults = list(csv.DictReader(f))
            for f in faults:
                f["pos"] = int(f["input"])  # the split's index: the images are the test split
            images = load_images(os.path.join(work, "imgs"))
            thread_counts = [int(t) for t in a.threads.split(",")]
            modes = a.recompute.split(",")

            def faultgraph_runs(r):
                return {(t, mode): faultgraph_campaign(a, spec, f"{work}/run{r}_{t}{mode}.db", t, mode)
                        for t in thread_counts for mode in modes}
            # PyTorch at every thread count in one go: its outcomes differ between thread counts
            # where ATen picks another convolution algorithm (1x1 layers at 1 thread), and a
            # disagreement with faultgraph is shown next to PyTorch's own at the other counts.
            fg_rounds, pt_rounds = [], []
            for r in range(a.repeat):
                fg_first = (a.order == "faultgraph-first") != (r % 2 == 1)
                fg = faultgraph_runs(r) if fg_first else None
                pt = {t: pytorch_campaign(name, state, onnx_path, images, faults, t, a.pytorch_memory_format)
                      for t in thread_counts}
                if fg is None:
                    fg = faultgraph_runs(r)
                fg_rounds.append(fg)
                pt_rounds.append(pt)
                if a.repeat > 1:
                    print(f"  {name} round {r + 1} ({'faultgraph' if fg_first else 'PyTorch'} first): "
                          + ", ".join(f"{t} threads PyTorch {len(faults) / pt[t][0]:.1f}"
                                      + "".join(f", {mode} {fg[(t, mode)][0]:.1f}" for mode in modes)
                                      for t in thread_counts) + " trials/s", flush=True)
            for key in fg_rounds[0]:
                if any(fr[key][2] != fg_rounds[0][key][2] for fr in fg_rounds):
                    sys.exit(f"{name} {key}: faultgraph's outcomes changed between rounds")
            # Medians over the rounds (the middle one's lower neighbour for an even count).
            def mid(xs):
                return sorted(xs)[(len(xs) - 1) // 2]
            fg_spread = {k: [fr[k][0] for fr in fg_rounds] for k in fg_rounds[0]}
            pt_spread = {t: [len(faults) / pr[t][0] for pr in pt_rounds] for t in thread_counts}
            # Each round's ratio pairs rates measured minutes apart; the ratio is their median.
            ratios = {k: mid([fr[k][0] * pr[k[0]][0] / len(faults) for fr, pr in zip(fg_rounds, pt_rounds)])
                      for k in fg_rounds[0]}
            fg = {k: (mid(fg_spread[k]),) + fg_rounds[0][k][1:] for k in fg_rounds[0]}
            pt = {t: (len(faults) / mid(pt_spread[t]),) + pt_rounds[0][t][1:] for t in thread_counts}
            for t1 in thread_counts:
                for t2 in thread_counts:
                    if t1 < t2:
                        differ = sum(x != y for x, y in zip(pt[t1][1], pt[t2][1]))
                        print(f"  {name}: PyTorch's own outcomes at {t1} and {t2} threads differ on "
                              f"{differ}/{len(faults)} trials", flush=True)
            for threads in thread_counts:
                secs, pt_outcomes, gaps = pt[threads]
                pt_rate = len(faults) / secs
                for mode in modes:
                    fg_rate, frac, fg_outcomes = fg[(threads, mode)]
                    agree = sum(x == y for x, y in zip(fg_outcomes, pt_outcomes))
                    for i, (x, y) in enumerate(zip(fg_outcomes, pt_outcomes)):
                        if x != y:
                            f = faults[i]
                            print(f"    {mode}: trial {i} ({f['node']} element {f['element']} bit {f['bit']}, "
                                  f"input {f['input']}, golden top-2 gap {gaps[f['pos']]:.3g}): "
                                  f"faultgraph {x}, PyTorch {y}"
                                  + "".join(f", PyTorch at {t} threads {pt[t][1][i]}" for t in thread_counts
                                            if t != threads), flush=True)
                    spread = (f"{min(fg_spread[(threads, mode)]):.1f}-{max(fg_spread[(threads, mode)]):.1f} / "
                              f"{min(pt_spread[threads]):.1f}-{max(pt_spread[threads]):.1f}")
                    rows.append((name, mode, threads, len(faults), fg_rate, pt_rate, ratios[(threads, mode)], agree, frac,
                                 spread))
                    print(f"  {name} {mode} threads={threads}: faultgraph {fg_rate:.1f} trials/s, PyTorch "
                          f"{pt_rate:.1f} trials/s, outcomes agree {agree}/{len(faults)}", flush=True)
    if a.repeat > 1:
        print(f"\nrates and ratios: medians of {a.repeat} rounds (a ratio: the median of the rounds' ratios), "
              "which side ran first alternating; range: faultgraph's / PyTorch's rates over the rounds")
    print(f"\n{'model':<14} {'recompute':>10} {'threads':>7} {'trials':>6} {'faultgraph/s':>12} "
          f"{'PyTorch/s':>10} {'ratio':>7} {'agree':>9} {'recomputed':>10}"
          + (f"  {'range (trials/s)'}" if a.repeat > 1 else ""))
    for name, mode, threads, n, fg, pt, ratio, agree, frac, spread in rows:
        print(f"{name:<14} {mode:>10} {threads:>7} {n:>6} {fg:>12.1f} {pt:>10.1f} {ratio:>7.2f} "
              f"{agree:>4}/{n:<4} {frac:>9}%" + (f"  {spread}" if a.repeat > 1 else ""))


if __name__ == "__main__":
    main()
