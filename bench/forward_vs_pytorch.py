#!/usr/bin/python3
"""Forward latency: faultgraph vs PyTorch eager, side by side in one run.

Same weights (the reference models of scripts/make_reference.py, BatchNorm kept), same
input shapes, same thread count. The two sides are timed in alternation, row by row and
round by round, so that load from elsewhere on a shared machine hits both alike; each
cell is the median over the rounds. Prints the ratio faultgraph / PyTorch (lower is
better; the target is <= 1.1).

faultgraph links tcmalloc (where glibc's malloc is used, it raises its mmap and trim
thresholds at start-up, DESIGN.md). --tcmalloc gives PyTorch the same allocator (preloaded),
--tuned-malloc glibc's tuned as faultgraph tunes it (bench/malloc_env.py), so that the
comparison does not rest on the allocator. PyTorch runs each cell in both tensor layouts,
contiguous (NCHW) and channels-last (NHWC, where oneDNN's convolutions skip reordering
each activation to and from their blocked layout), and its faster one counts (the
column "layout"); --pytorch-memory-format picks one.

  bench/forward_vs_pytorch.py [--bench build/release/bench/forward_bench] [--threads N]
      [--batches 1,16] [--models resnet50,mobilenet_v2,inception_v3] [--rounds 3]
      [--tuned-malloc | --tcmalloc] [--pytorch-memory-format best|contiguous|channels_last]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import malloc_env  # noqa: E402


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_bench = next((p for p in (os.path.join(ROOT, "build", b, "bench", "forward_bench")
                                      for b in ("release", "dev")) if os.path.exists(p)), None)
    ap.add_argument("--bench", default=default_bench)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--batches", default="1,16")
    ap.add_argument("--models", default="resnet50,mobilenet_v2,inception_v3,vit_b_16,convnext_tiny")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=1.0, help="time per cell and round")
    ap.add_argument("--tuned-malloc", action="store_true", help="PyTorch on glibc malloc tuned as faultgraph tunes it")
    ap.add_argument("--tcmalloc", action="store_true", help="PyTorch on tcmalloc (preloaded), as faultgraph links it")
    ap.add_argument("--pytorch-memory-format", choices=("best", "contiguous", "channels_last"), default="best")
    ap.add_argument("--refdata", default=os.path.join(os.path.expanduser("~"), ".cache", "faultgraph", "refdata", "models"))
    return ap.parse_args()


def main():
    args = parse_args()
    if args.tuned_malloc and args.tcmalloc:
        sys.exit("forward_vs_pytorch: --tuned-malloc or --tcmalloc, not both")
    if args.tuned_malloc:
        malloc_env.use_tuned_malloc()
    if args.tcmalloc:
        malloc_env.use_tcmalloc()
    if not args.bench:
        sys.exit("forward_vs_pytorch: build faultgraph first (scripts/setup release)")

    import torch
    import torchvision.models as tv
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    import make_reference

    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "make_reference.py"), "models", args.refdata], check=True)
    torch.set_num_threads(args.threads)
    specs = {n: (b, s) for n, b, s, _ in make_reference.MODELS + make_reference.BN_FREE_MODELS}
    # The CNNs with BatchNorm kept; the BatchNorm-free transformers as exported at opset 17.
    files = {n: n + ("_bn.onnx" if any(n == m[0] for m in make_reference.MODELS) else "_opset17.onnx")
             for n in specs}
    models = args.models.split(",")
    batches = [int(b) for b in args.batches.split(",")]

    def faultgraph_ms(m, b):
        cmd = [args.bench, "--threads", str(args.threads), "--model", f"{m}={os.path.join(args.refdata, files[m])}",
               "--batch", str(b), "--benchmark_format=json", f"--benchmark_min_time={args.seconds}"]
        res = subprocess.run(cmd, check=True, capture_output=True, text=True, env=malloc_env.without_malloc_settings(os.environ))
        return json.loads(res.stdout)["benchmarks"][0]["real_time"], res.stderr.strip()

    torch_models = {}

    layouts = ["contiguous", "channels_last"] if args.pytorch_memory_format == "best" else [args.pytorch_memory_format]

    def pytorch_ms(m, b, layout):
        if (m, layout) not in torch_models:
            net = specs[m][0](tv)
            net.load_state_dict(torch.load(os.path.join(args.refdata, f"{m}_state.pt")))
            if layout == "channels_last":
                net = net.to(memory_format=torch.channels_last)
            torch_models[(m, layout)] = net.eval()
        net, size = torch_models[(m, layout)], specs[m][1]
        x = torch.randn(b, 3, size, size)
        if layout == "channels_last":
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            net(x)
            n, t0 = 0, time.perf_counter()
            while n < 2 or time.perf_counter() - t0 < args.seconds:
                net(x)
                n += 1
        return (time.perf_counter() - t0) / n * 1e3

    fg_times, pt_times, header = {}, {}, ""
    for _ in range(args.rounds):
        for m in models:
            for b in batches:
                t, header = faultgraph_ms(m, b)
                fg_times.setdefault((m, b), []).append(t)
                for layout in layouts:
                    pt_times.setdefault((m, b, layout), []).append(pytorch_ms(m, b, layout))

    with open("/proc/self/maps") as f:
        blas = sorted({line.split()[-1] for line in f if "libopenblas" in line or "libblas" in line})
    print(header)
    print(f"PyTorch {torch.__version__} eager: threads={torch.get_num_threads()} blas={', '.join(blas) or 'none loaded'}"
          f" {malloc_env.describe()}")
    print(f"{'model':<14} {'batch':>5} {'faultgraph ms':>14} {'PyTorch ms':>11} {'ratio':>6}  layout (PyTorch)")
    worst = 0.0
    for m in models:
        for b in batches:
            fg = statistics.median(fg_times[(m, b)])
            pt, layout = min((statistics.median(pt_times[(m, b, l)]), l) for l in layouts)
            other = "".join(f"; {l} {statistics.median(pt_times[(m, b, l)]):.2f} ms" for l in layouts if l != layout)
            worst = max(worst, fg / pt)
            print(f"{m:<14} {b:>5} {fg:>14.2f} {pt:>11.2f} {fg / pt:>6.2f}  {layout}{other}")
    print(f"worst ratio {worst:.2f} (target <= 1.10); median of {args.rounds} alternating rounds")


if __name__ == "__main__":
    main()
