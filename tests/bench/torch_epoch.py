#!/usr/bin/env python3
"""torch_epoch.py - one epoch of the Fashion-MNIST example in PyTorch, as the
framework a user would otherwise pick: the same network, initial scale, batch,
plain SGD at the same learning rate, the same input standardisation, one
thread. Prints one JSON line: seconds of the training steps (not loading, not
evaluating), samples per second, test accuracy.

    torch_epoch.py --layers 784,256,128,10 --dtype float64|float32
                   [--batch 64] [--lr 0.1] [--data DIR] [--samples N]

Used by local_bench.sh; needs Debian's python3-torch.
"""
import argparse
import gzip
import json
import struct
import time

import numpy as np
import torch


def idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic, = struct.unpack(">I", raw[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, raw[4:4 + 4 * dims])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", default="784,256,128,10")
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--samples", type=int, default=0, help="training samples (0: all)")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()
    torch.set_num_threads(1)
    dt = torch.float64 if a.dtype == "float64" else torch.float32
    sizes = [int(v) for v in a.layers.split(",")]
    xtr = idx(a.data + "/train-images-idx3-ubyte.gz").reshape(-1, sizes[0]).astype(np.float64)
    ytr = idx(a.data + "/train-labels-idx1-ubyte.gz").astype(np.int64)
    xte = idx(a.data + "/t10k-images-idx3-ubyte.gz").reshape(-1, sizes[0]).astype(np.float64)
    yte = idx(a.data + "/t10k-labels-idx1-ubyte.gz").astype(np.int64)
    if a.samples:
        xtr, ytr = xtr[:a.samples], ytr[:a.samples]
    mean, std = xtr.mean(), xtr.std()  # one mean and scale over all pixels, as the job's
    xtr = torch.tensor((xtr - mean) / std, dtype=dt)
    xte = torch.tensor((xte - mean) / std, dtype=dt)
    ytr, yte = torch.tensor(ytr), torch.tensor(yte)
    torch.manual_seed(1)
    layers = []
    for i in range(len(sizes) - 1):
        lin = torch.nn.Linear(sizes[i], sizes[i + 1]).to(dt)
        # zero bias; He-uniform weights before a relu, Glorot-uniform for the
        # softmax layer (the scales gpdot's init uses)
        last = i == len(sizes) - 2
        bound = (6.0 / (sizes[i] + (sizes[i + 1] if last else 0))) ** 0.5
        with torch.no_grad():
            lin.weight.uniform_(-bound, bound)
            lin.bias.zero_()
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(net.parameters(), lr=a.lr)
    lossf = torch.nn.CrossEntropyLoss()
    perm = torch.randperm(len(xtr), generator=torch.Generator().manual_seed(1))
    n = len(xtr)
    t0 = time.perf_counter()
    for first in range(0, n, a.batch):
        idxs = perm[first:first + a.batch]
        opt.zero_grad(set_to_none=True)
        loss = lossf(net(xtr[idxs]), ytr[idxs])
        loss.backward()
        opt.step()
    secs = time.perf_counter() - t0
    with torch.no_grad():
        acc = (net(xte).argmax(1) == yte).double().mean().item()
    print(json.dumps({"seconds": secs, "samples_per_s": n / secs, "test_accuracy": acc,
                      "dtype": a.dtype, "layers": sizes, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
