#!/usr/bin/env python3
"""Independent numpy implementation of the codes, written from the design
notes' formulas (not from the C code), producing fixtures for numpy_test.

For each configuration it writes, into OUTDIR:
  <name>_a.npy            evaluation points (the point family formula)
  <name>_W.npy, _X.npy, _D.npy
  <name>_Wt.npy           stored blocks of all P nodes, stacked (P*br x bc)
  <name>_y.npy, _z.npy    forward / backward node outputs, stacked
  <name>_WX.npy, _WtD.npy the products W X and W^T D
  <name>_Wt2.npy          stored blocks after the coded update W += alpha D X^T
and a line in OUTDIR/manifest.txt:
  name kind P m n orient family rows cols B alpha
kind is "layer" (gp_code, gpd family) or "mm" (general product A B, where
m, n, orient are t, s, t' and W, X are A, B).
"""
import os
import sys

import numpy as np

rng = np.random.default_rng(20261125)
BETAS = [1.0, 0.9, 0.75, 0.5, 0.25, 0.0, -0.2, -0.4]


def points(family, P):
    t = -1 + (2 * np.arange(P) + 1) / P
    b = BETAS[family]
    if b > 0:
        a = np.sin(b * np.pi / 2 * t) / np.sin(b * np.pi / 2)
    elif b < 0:
        g = -3 * b
        a = np.sinh(g * t) / np.sinh(g)
    else:
        a = t.copy()
    for p in range(P // 2):
        a[P - 1 - p] = -a[p]
    if P % 2:
        a[P // 2] = 0.0
    return a


def blocks(M, nr, nc):
    """nr x nc blocks of M, zero-padded to equal sizes."""
    br, bc = -(-M.shape[0] // nr), -(-M.shape[1] // nc)
    Z = np.zeros((br * nr, bc * nc))
    Z[: M.shape[0], : M.shape[1]] = M
    return [[Z[i * br:(i + 1) * br, j * bc:(j + 1) * bc] for j in range(nc)] for i in range(nr)]


def layer(name, P, m, n, orient, family, rows, cols, B, out, manifest):
    a = points(family, P)
    W = rng.standard_normal((rows, cols))
    X = rng.standard_normal((cols, B))
    D = rng.standard_normal((rows, B))
    alpha = -0.03
    Wb, Xb, Db = blocks(W, m, n), blocks(X, n, 1), blocks(D, m, 1)
    if orient == "row":  # W[i][j] -> a^(j + n i)
        ew = lambda i, j: j + n * i
        ex = lambda k: n - 1 - k
        ed = lambda k: n * (m - 1 - k)
        ud, ux = (lambda i: n * i), (lambda j: j)
    else:  # W[i][j] -> a^(i + m j)
        ew = lambda i, j: i + m * j
        ex = lambda k: m * (n - 1 - k)
        ed = lambda k: m - 1 - k
        ud, ux = (lambda i: i), (lambda j: m * j)
    Wt, Wt2, ys, zs = [], [], [], []
    for p in range(P):
        w = sum(Wb[i][j] * a[p] ** ew(i, j) for i in range(m) for j in range(n))
        xt = sum(Xb[k][0] * a[p] ** ex(k) for k in range(n))
        dt = sum(Db[k][0] * a[p] ** ed(k) for k in range(m))
        Wt.append(w)
        ys.append(w @ xt)
        zs.append(w.T @ dt)
        du = sum(Db[i][0] * a[p] ** ud(i) for i in range(m))
        xu = sum(Xb[j][0] * a[p] ** ux(j) for j in range(n))
        Wt2.append(w + alpha * du @ xu.T)
    save(out, name, a=a, W=W, X=X, D=D, Wt=np.vstack(Wt), y=np.vstack(ys), z=np.vstack(zs),
         WX=W @ X, WtD=W.T @ D, Wt2=np.vstack(Wt2))
    manifest.write(f"{name} layer {P} {m} {n} {orient} {family} {rows} {cols} {B} {alpha!r}\n")


def matmul(name, P, t, s, tp, family, rows, inner, cols, out, manifest):
    a = points(family, P)
    A = rng.standard_normal((rows, inner))
    Bm = rng.standard_normal((inner, cols))
    Ab, Bb = blocks(A, t, s), blocks(Bm, s, tp)
    ys = []
    for p in range(P):
        At = sum(Ab[i][j] * a[p] ** (j + s * i) for i in range(t) for j in range(s))
        Bt = sum(Bb[k][l] * a[p] ** ((s - 1 - k) + s * t * l) for k in range(s) for l in range(tp))
        ys.append(At @ Bt)
    save(out, name, a=a, W=A, X=Bm, y=np.vstack(ys), WX=A @ Bm)
    manifest.write(f"{name} mm {P} {t} {s} {tp} {family} {rows} {inner} {cols} 0\n")


def save(out, name, **arrays):
    for k, v in arrays.items():
        np.save(os.path.join(out, f"{name}_{k}.npy"), np.ascontiguousarray(v, dtype=np.float64))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "manifest.txt"), "w") as mf:
        layer("gpd22row", 8, 2, 2, "row", 0, 13, 11, 5, out, mf)
        layer("gpd22col", 8, 2, 2, "col", 0, 12, 10, 1, out, mf)
        layer("gpd22row_p16", 16, 2, 2, "row", 7, 16, 16, 64, out, mf)
        layer("poly3", 7, 3, 1, "row", 0, 9, 8, 3, out, mf)
        layer("matdot3", 7, 1, 3, "row", 0, 8, 9, 3, out, mf)
        layer("gpd23", 12, 2, 3, "row", 1, 10, 12, 2, out, mf)
        layer("gpd32col", 12, 3, 2, "col", 2, 12, 10, 2, out, mf)
        matmul("mm222", 12, 2, 2, 2, 0, 9, 8, 7, out, mf)
        matmul("mm131", 7, 1, 3, 1, 0, 6, 9, 5, out, mf)
        matmul("mm212", 10, 2, 1, 2, 0, 8, 5, 6, out, mf)


if __name__ == "__main__":
    main()
