#!/usr/bin/python3
"""Training throughput: faultgraph vs PyTorch eager, side by side in one run.

The seed's Inception-module model (Adam) and ResNet-20 (SGD with momentum and weight
decay, BatchNorm in training mode) train on the same Fashion-MNIST images, with the
same batch size and thread count, in faultgraph (`faultgraph train`) and in an equivalent
PyTorch script (the same architectures written as torch.nn modules; their parameter
counts are checked against faultgraph's). Each side trains two epochs per round and the
second epoch's images per second count (the first includes one-off set-up on both
sides). Sides alternate within each round so that load from elsewhere hits both alike;
each cell is the median over the rounds. Prints the ratio faultgraph / PyTorch in images
per second (higher is better; the target is >= 1).

  bench/train_vs_pytorch.py [--faultgraph build/release/faultgraph] [--threads N]
      [--batch 64] [--images 1024] [--models seed_inception,resnet20] [--rounds 3]
      [--tuned-malloc | --tcmalloc]
"""
import argparse
import gzip
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import malloc_env  # noqa: E402
FASHION = "/usr/share/datasets/fashion-mnist"
OPTIMISERS = {  # model: faultgraph train flags, the same settings for PyTorch
    "seed_inception": {"optimizer": "adam", "lr": 1e-3, "weight_decay": 0.0},
    "resnet20": {"optimizer": "sgd", "lr": 0.1, "weight_decay": 5e-4},
}


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_fg = next((p for p in (os.path.join(ROOT, "build", b, "faultgraph") for b in ("release", "dev"))
                       if os.path.exists(p)), None)
    ap.add_argument("--faultgraph", default=default_fg)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--images", type=int, default=1024, help="training images per epoch")
    ap.add_argument("--models", default="seed_inception,resnet20")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tuned-malloc", action="store_true", help="PyTorch on glibc malloc tuned as faultgraph tunes it")
    ap.add_argument("--tcmalloc", action="store_true", help="PyTorch on tcmalloc (preloaded), as faultgraph links it")
    return ap.parse_args()


def write_small_idx(out, n_train, n_test=16):
    """The first images of Debian's Fashion-MNIST as a small IDX folder (both sides read it)."""
    for split, prefix, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        for kind, header in (("images-idx3-ubyte", 16), ("labels-idx1-ubyte", 8)):
            with gzip.open(os.path.join(FASHION, f"{prefix}-{kind}.gz")) as f:
                data = f.read()
            count = n * (28 * 28 if kind.startswith("images") else 1)
            head = bytearray(data[:header])
            head[4:8] = n.to_bytes(4, "big")
            with open(os.path.join(out, f"{prefix}-{kind}"), "wb") as f:
                f.write(bytes(head) + data[header:header + count])


def torch_models():
    import torch.nn as nn
    import torch.nn.functional as F

    class SeedInception(nn.Module):
        def __init__(self, classes=10):
            super().__init__()
            self.c1 = nn.Conv2d(1, 64, 1)
            self.c2, self.c3 = nn.Conv2d(1, 96, 1), nn.Conv2d(96, 128, 3, padding=1)
            self.c4, self.c5 = nn.Conv2d(1, 16, 1), nn.Conv2d(16, 32, 5, padding=2)
            self.c6 = nn.Conv2d(1, 32, 1)
            self.dense = nn.Linear(256 * 28 * 28, classes)

        def forward(self, x):
            b1 = F.relu(self.c1(x))
            b3 = F.relu(self.c3(F.relu(self.c2(x))))
            b5 = F.relu(self.c5(F.relu(self.c4(x))))
            bp = F.relu(self.c6(F.max_pool2d(x, 3, 1, 1)))
            return self.dense(torch_flatten(torch_cat([b1, b3, b5, bp])))

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.pad = (cout - cin) // 2 if stride != 1 or cin != cout else None

        def forward(self, x):
            y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
            s = x if self.pad is None else F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))
            return F.relu(y + s)

    class ResNet20(nn.Module):
        def __init__(self, channels=1, classes=10):
            super().__init__()
            self.conv1 = nn.Conv2d(channels, 16, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            blocks, cin = [], 16
            for stage, cout in enumerate((16, 32, 64)):
                for i in range(3):
                    blocks.append(Block(cin, cout, 2 if i == 0 and stage > 0 else 1))
                    cin = cout
            self.blocks = nn.Sequential(*blocks)
            self.fc = nn.Linear(64, classes)

        def forward(self, x):
            x = self.blocks(F.relu(self.bn1(self.conv1(x))))
            return self.fc(torch_flatten(F.adaptive_avg_pool2d(x, 1)))

    import torch
    global torch_flatten, torch_cat
    torch_flatten = lambda x: torch.flatten(x, 1)  # noqa: E731
    torch_cat = lambda xs: torch.cat(xs, 1)  # noqa: E731
    return {"seed_inception": SeedInception, "resnet20": ResNet20}


def onnx_parameters(path):
    """Learned parameters of a faultgraph-trained model (BatchNorm statistics excluded)."""
    import numpy as np
    import onnx
    m = onnx.load(path)
    return sum(int(np.prod(t.dims)) for t in m.graph.initializer
               if t.data_type == onnx.TensorProto.FLOAT and "running_" not in t.name)


def run_faultgraph(fg, model, data, args):
    o = OPTIMISERS[model]
    cmd = [fg, "--threads", str(args.threads), "train", "-m", model, "-d", data, "-e", "2",
           "-b", str(args.batch), "--optimizer", o["optimizer"], "--lr", str(o["lr"]),
           "--weight-decay", str(o["weight_decay"]), "-o", os.path.join(data, "model.onnx")]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         env=malloc_env.without_malloc_settings(os.environ)).stdout
    rates = re.findall(r"^epoch \d+: .* (\d+) img/s", out, re.M)
    return float(rates[-1])


def run_pytorch(torch, net_class, model, images, labels, args):
    o = OPTIMISERS[model]
    torch.manual_seed(0)
    net = net_class().train()
    if o["optimizer"] == "adam":
        opt = torch.optim.Adam(net.parameters(), lr=o["lr"], weight_decay=o["weight_decay"])
    else:
        opt = torch.optim.SGD(net.parameters(), lr=o["lr"], momentum=0.9, weight_decay=o["weight_decay"])
    n = images.shape[0]
    rate = 0.0
    for epoch in range(2):
        gen = torch.Generator().manual_seed(epoch)
        order = torch.randperm(n, generator=gen)
        start = time.perf_counter()
        for begin in range(0, n, args.batch):
            idx = order[begin:begin + args.batch]
            x, y = images.index_select(0, idx), labels.index_select(0, idx)
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(x), y)
            loss.backward()
            opt.step()
            loss.item()
        rate = n / (time.perf_counter() - start)
    return rate


def main():
    args = parse_args()
    if args.tuned_malloc and args.tcmalloc:
        sys.exit("train_vs_pytorch: --tuned-malloc or --tcmalloc, not both")
    if args.tuned_malloc:
        malloc_env.use_tuned_malloc()
    if args.tcmalloc:
        malloc_env.use_tcmalloc()
    if not args.faultgraph:
        sys.exit("train_vs_pytorch: build faultgraph first (scripts/setup release)")
    import numpy as np
    import torch
    torch.set_num_threads(args.threads)
    nets = torch_models()
    with tempfile.TemporaryDirectory() as data:
        write_small_idx(data, args.images)
        with open(os.path.join(data, "train-images-idx3-ubyte"), "rb") as f:
            raw = np.frombuffer(f.read()[16:], dtype=np.uint8).reshape(-1, 1, 28, 28)
        with open(os.path.join(data, "train-labels-idx1-ubyte"), "rb") as f:
            lab = np.frombuffer(f.read()[8:], dtype=np.uint8)
        images = torch.from_numpy(raw.astype(np.float32) / 255.0)
        labels = torch.from_numpy(lab.astype(np.int64))
        models = args.models.split(",")
        results = {m: {"faultgraph": [], "pytorch": []} for m in models}
        for r in range(args.rounds):
            for m in models:
                results[m]["faultgraph"].append(run_faultgraph(args.faultgraph, m, data, args))
                if r == 0:  # the same network on both sides
                    theirs = sum(p.numel() for p in nets[m]().parameters())
                    ours = onnx_parameters(os.path.join(data, "model.onnx"))
                    assert theirs == ours, f"{m}: PyTorch has {theirs} parameters, faultgraph {ours}"
                results[m]["pytorch"].append(run_pytorch(torch, nets[m], m, images, labels, args))
                print(f"round {r + 1}/{args.rounds} {m}: faultgraph {results[m]['faultgraph'][-1]:.0f} img/s, "
                      f"PyTorch {results[m]['pytorch'][-1]:.0f} img/s", file=sys.stderr, flush=True)
    print(f"\ntraining throughput, batch {args.batch}, {args.threads} threads, {args.images} images "
          f"an epoch, median of {args.rounds} rounds (torch {torch.__version__}"
          f", {malloc_env.describe()})")
    print(f"{'model':<16} {'faultgraph img/s':>17} {'PyTorch img/s':>14} {'ratio':>7}")
    for m in models:
        a, b = statistics.median(results[m]["faultgraph"]), statistics.median(results[m]["pytorch"])
        print(f"{m:<16} {a:>17.0f} {b:>14.0f} {a / b:>7.2f}")


if __name__ == "__main__":
    main()
