#!/usr/bin/python3
"""Forward latency: faultgraph vs PyTorch eager, side by side in one run.

Same weights (the reference models of scripts/make_reference.py, BatchNorm kept), same
input shapes, same thread count. Prints one row per model and batch size with the
median latency of each and the ratio faultgraph / PyTorch (lower is better; the target
is <= 1.1). faultgraph raises glibc's mmap threshold at start-up (DESIGN.md); so that
the comparison does not rest on that alone, PyTorch is also timed in a second process
with the same setting (MALLOC_MMAP_THRESHOLD_), in the column "PyTorch+malloc".

  bench/forward_vs_pytorch.py [--bench build/release/bench/forward_bench] [--threads N]
                              [--batches 1,16] [--models resnet50,mobilenet_v2,inception_v3]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch
import torchvision.models as tv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import make_reference  # noqa: E402


def blas_in_use():
    with open("/proc/self/maps") as f:
        paths = {line.split()[-1] for line in f if "blas" in line}
    return ", ".join(sorted(paths)) or "none loaded"


def pytorch_latency(name, size, batch, refdir, repeats):
    build = dict((n, b) for n, b, _, _ in make_reference.MODELS)[name]
    model = build(tv)
    model.load_state_dict(torch.load(os.path.join(refdir, f"{name}_state.pt")))
    model.eval()
    x = torch.randn(batch, 3, size, size)
    times = []
    with torch.no_grad():
        model(x)
        model(x)
        for _ in range(repeats):
            t0 = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def pytorch_rows(args, models, batches, sizes, env=None):
    """PyTorch latencies {(model, batch): ms}, measured in a child process (so that
    malloc settings from `env` apply from its start)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--pytorch-only", "--threads", str(args.threads),
           "--batches", args.batches, "--models", args.models, "--repeats", str(args.repeats),
           "--refdata", args.refdata]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         env=dict(os.environ, **(env or {}))).stdout
    return {(m, int(b)): ms for m, b, ms in json.loads(out)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_bench = next((p for p in (os.path.join(ROOT, "build", b, "bench", "forward_bench")
                                      for b in ("release", "dev")) if os.path.exists(p)), None)
    ap.add_argument("--bench", default=default_bench)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--batches", default="1,16")
    ap.add_argument("--models", default="resnet50,mobilenet_v2,inception_v3")
    ap.add_argument("--repeats", type=int, default=5, help="timed forwards per row and side")
    ap.add_argument("--refdata", default=os.path.join(os.path.expanduser("~"), ".cache", "faultgraph", "refdata", "models"))
    ap.add_argument("--pytorch-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    sizes = {n: s for n, _, s, _ in make_reference.MODELS}
    if args.pytorch_only:
        torch.set_num_threads(args.threads)
        rows = [(m, b, pytorch_latency(m, sizes[m], int(b), args.refdata, args.repeats))
                for m in args.models.split(",") for b in args.batches.split(",")]
        print(json.dumps(rows))
        return
    if not args.bench:
        sys.exit("forward_vs_pytorch: build faultgraph first (scripts/setup release)")
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "make_reference.py"), "models", args.refdata], check=True)
    torch.set_num_threads(args.threads)
    batches = [int(b) for b in args.batches.split(",")]
    models = args.models.split(",")

    cmd = [args.bench, "--threads", str(args.threads), "--benchmark_format=json",
           f"--benchmark_repetitions={args.repeats}", "--benchmark_min_time=0.01",
           "--benchmark_report_aggregates_only=true"]
    for m in models:
        cmd += ["--model", f"{m}={os.path.join(args.refdata, m + '_bn.onnx')}"]
    for b in batches:
        cmd += ["--batch", str(b)]
    res = subprocess.run(cmd, check=True, capture_output=True, text=True)
    print(res.stderr.strip().splitlines()[0] if res.stderr.strip() else "")
    fg_ms = {}
    for bm in json.loads(res.stdout)["benchmarks"]:
        if bm.get("aggregate_name") == "median":
            fg_ms[bm["run_name"]] = bm["real_time"]

    print(f"PyTorch {torch.__version__} runtime: threads={torch.get_num_threads()} blas={blas_in_use()}")
    plain = pytorch_rows(args, models, batches, sizes)
    tuned = pytorch_rows(args, models, batches, sizes, {"MALLOC_MMAP_THRESHOLD_": str(256 << 20)})
    print(f"{'model':<14} {'batch':>5} {'faultgraph ms':>14} {'PyTorch ms':>11} {'ratio':>6}"
          f" {'PyTorch+malloc ms':>18} {'ratio':>6}")
    worst = 0.0
    for m in models:
        for b in batches:
            fg, pt, pt2 = fg_ms[f"{m}/batch:{b}/real_time"], plain[(m, b)], tuned[(m, b)]
            worst = max(worst, fg / pt, fg / pt2)
            print(f"{m:<14} {b:>5} {fg:>14.2f} {pt:>11.2f} {fg / pt:>6.2f} {pt2:>18.2f} {fg / pt2:>6.2f}",
                  flush=True)
    print(f"worst ratio {worst:.2f} (target <= 1.10)")


if __name__ == "__main__":
    main()
