#!/usr/bin/env python3
"""Independent numpy implementation of gpdot's training arithmetic, written
from the formulas in common/train/gp_train.h (not from the C code), for train_test.

    python3 train_ref.py DIR

DIR/manifest.txt has one line per network:
    name act0 act1 ... ; schedule normalize lr gamma step_every lr_min epochs batch
The C side wrote, for each name:
    <name>_W<l>.npy      initial weights, bias as the last column
    <name>_X.npy         training samples, raw (count x features)
    <name>_y.npy         their labels
    <name>_order.npy     the sample order of every epoch (epochs x count)
    <name>_Xt.npy, <name>_yt.npy   the test set
This writes:
    <name>_W<l>_final.npy   the weights after every step of every epoch
    <name>_loss.npy         the mean cross-entropy of every step's batch
    <name>_test.npy         [accuracy, mean loss] of the final weights on the test set
"""
import math
import os
import sys

import numpy as np


def act(name, s):
    if name == "relu":
        return np.maximum(s, 0.0)
    if name == "tanh":
        return np.tanh(s)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-s))
    return s


def dact(name, s):
    if name == "relu":
        return (s > 0).astype(np.float64)
    if name == "tanh":
        return 1.0 - np.tanh(s) ** 2
    if name == "sigmoid":
        g = 1.0 / (1.0 + np.exp(-s))
        return g * (1.0 - g)
    return np.ones_like(s)


def rate(p, step, steps_per_epoch):
    if p["schedule"] == "constant":
        return p["lr"]
    if p["schedule"] == "step":
        k = (step // steps_per_epoch) // p["step_every"]
        return p["lr"] * p["gamma"] ** k
    total = steps_per_epoch * p["epochs"]
    t = min(step / total, 1.0)
    return p["lr_min"] + (p["lr"] - p["lr_min"]) * (1.0 + math.cos(math.pi * t)) / 2.0


def with_ones(a):
    return np.vstack([a, np.ones((1, a.shape[1]))])


def forward(W, acts, X0):
    """Pre-activations S[1..L] and activations X[0..L-1] (with the row of ones)."""
    X, S = [X0], [None]
    for l, w in enumerate(W):
        s = w @ X[-1]
        S.append(s)
        if l < len(W) - 1:
            X.append(with_ones(act(acts[l], s)))
    return S, X


def softmax(s):
    e = np.exp(s - s.max(axis=0))
    return e / e.sum(axis=0)


def xent(p, y):
    return -np.log(p[y, np.arange(len(y))])


def run(d, name, acts, p):
    L = len(acts) + 1
    W = [np.load(os.path.join(d, f"{name}_W{l}.npy")) for l in range(L)]
    X = np.load(os.path.join(d, f"{name}_X.npy"))
    y = np.load(os.path.join(d, f"{name}_y.npy")).astype(int).ravel()
    order = np.load(os.path.join(d, f"{name}_order.npy")).astype(int)
    Xt = np.load(os.path.join(d, f"{name}_Xt.npy"))
    yt = np.load(os.path.join(d, f"{name}_yt.npy")).astype(int).ravel()
    if p["normalize"] == "standardize":  # statistics of all training values
        mean, std = X.mean(), X.std()
        norm = lambda a: (a - mean) / std
    elif p["normalize"] == "scale":
        norm = lambda a: a / 255.0
    else:
        norm = lambda a: a
    Xn, Xtn = norm(X), norm(Xt)
    count, B = X.shape[0], p["batch"]
    spe = -(-count // B)
    losses, step = [], 0
    for e in range(p["epochs"]):
        for first in range(0, count, B):
            idx = order[e, first:first + B]
            b = len(idx)
            S, Xs = forward(W, acts, with_ones(Xn[idx].T))
            P = softmax(S[L])
            losses.append(xent(P, y[idx]).mean())
            onehot = np.zeros_like(P)
            onehot[y[idx], np.arange(b)] = 1.0
            D = [None] * (L + 1)
            D[L] = (P - onehot) / b
            for l in range(L - 1, 0, -1):  # every delta from the weights before the step
                D[l] = (W[l].T @ D[l + 1])[:-1] * dact(acts[l - 1], S[l])
            lr = rate(p, step, spe)
            W = [W[l] - lr * (D[l + 1] @ Xs[l].T) for l in range(L)]
            step += 1
    for l in range(L):
        np.save(os.path.join(d, f"{name}_W{l}_final.npy"), W[l])
    np.save(os.path.join(d, f"{name}_loss.npy"), np.array(losses))
    S, _ = forward(W, acts, with_ones(Xtn.T))
    P = softmax(S[L])
    acc = float((S[L].argmax(axis=0) == yt).mean())
    np.save(os.path.join(d, f"{name}_test.npy"), np.array([acc, xent(P, yt).mean()]))


def main():
    d = sys.argv[1]
    with open(os.path.join(d, "manifest.txt")) as f:
        for line in f:
            if not line.strip():
                continue
            head, tail = line.split(";")
            name, *acts = head.split()
            sched, normalize, lr, gamma, every, lr_min, epochs, batch = tail.split()
            p = dict(schedule=sched, normalize=normalize, lr=float(lr), gamma=float(gamma),
                     step_every=int(every), lr_min=float(lr_min), epochs=int(epochs),
                     batch=int(batch))
            run(d, name, acts, p)


if __name__ == "__main__":
    main()
