"""glibc malloc settings for the PyTorch side of the benchmarks.

faultgraph sets them at start-up (mallopt in exec/runtime.cpp): buffers below 256 MiB are
reused from the heap instead of mapped and unmapped, and the heap is trimmed only above
512 MiB. Both must be given: setting only MALLOC_MMAP_THRESHOLD_ also freezes glibc's
dynamic trim threshold at its 128 KiB default, so the heap is trimmed after nearly every
free (measured: PyTorch's ResNet-50 forward at 1 thread 217 ms instead of 71 ms).
"""
import glob
import os
import sys

TUNED = {"MALLOC_MMAP_THRESHOLD_": str(256 << 20), "MALLOC_TRIM_THRESHOLD_": str(512 << 20)}
# tcmalloc (Debian's libtcmalloc-minimal4), which faultgraph links: the PyTorch side can get
# it too, preloaded (what PyTorch's own performance guide suggests for CPU inference).
TCMALLOC = next(iter(sorted(glob.glob("/usr/lib/*/libtcmalloc_minimal.so.4"))), None)


def use_tcmalloc(extra=None):
    """Re-executes this script with tcmalloc preloaded, and `extra` environment variables."""
    if TCMALLOC is None:
        sys.exit("tcmalloc is not installed (Debian's libtcmalloc-minimal4; scripts/setup installs it)")
    want = dict({"LD_PRELOAD": TCMALLOC}, **(extra or {}))
    if any(os.environ.get(k) != v for k, v in want.items()):
        os.execve(sys.executable, [sys.executable] + sys.argv, dict(os.environ, **want))


def without_malloc_settings(env):
    """`env` without what this module sets: faultgraph, run from a benchmark, uses its own."""
    return {k: v for k, v in env.items() if k not in TUNED and k != "LD_PRELOAD"}


def use_tuned_malloc(extra=None):
    """Re-executes this script with the tuned settings (glibc reads them at start-up), and
    `extra` environment variables (read by libraries when they load)."""
    want = dict(TUNED, **(extra or {}))
    if any(os.environ.get(k) != v for k, v in want.items()):
        os.execve(sys.executable, [sys.executable] + sys.argv, dict(os.environ, **want))


def describe():
    """How the running process's malloc is set, for the benchmark's header."""
    if TCMALLOC and os.environ.get("LD_PRELOAD") == TCMALLOC:
        return f"malloc=tcmalloc (LD_PRELOAD={TCMALLOC})"
    if all(os.environ.get(k) == v for k, v in TUNED.items()):
        return "malloc=tuned (" + ", ".join(f"{k}={v}" for k, v in TUNED.items()) + ")"
    if any(k in os.environ for k in TUNED):
        return "malloc=partly tuned (" + ", ".join(f"{k}={os.environ[k]}" for k in TUNED if k in os.environ) + ")"
    return "malloc=glibc default"
