#!/usr/bin/python3
"""Vectorised NumPy reference for the icl-sweep Monte-Carlo evaluation.

Measures the throughput (prompts per second) of one Monte-Carlo evaluation
"condition" written in reasonably optimised, batched NumPy, as a baseline
for the C++ implementation. Everything is batched over prompts (einsum,
batched matmul, batched np.linalg.solve / pinv); Python only loops over
chunks of prompts and over the handful of predictors.

Setup (one condition, all predictors evaluated on the same prompts):
  Lambda = I_d, Gamma = (1 + 1/N) Lambda + tr(Lambda)/N I, A* = Gamma^-1,
  "trained" A = Gamma^-1 + 1e-9 * ones (a distinct matrix, same cost),
  one-step GD: A_gd = eta I, eta = tr(Lambda^2) / tr(Gamma Lambda^2).
  Per prompt: w ~ N(0, I), rows x_1..x_M ~ N(0, Lambda), x_q ~ N(0, Lambda),
  y_i = <w, x_i> (noiseless), target t = <w, x_q>.
Predictors: LSA(A), LSA(A*), GD (x_q^T A h with h = X^T y / M), averaging
(x_q^T h), OLS minimum-norm (w = X^+ y), ridge ((X^T X/M + lam I)^-1 h),
kNN (mean label of the k nearest examples), zero. For each: MSE over
prompts and its standard error (sample sd / sqrt(n)).

Timing: the whole evaluation, random generation included, is repeated
--repeats times with time.perf_counter; the median is reported.

Run:
  /usr/bin/python3 bench/numpy_mc_reference.py --d 20 --m 40

Output ends with a machine-readable line:
  numpy_mc seconds_median=<x> prompts_per_second=<y> d=<d> m=<m> prompts=<P>
"""

import argparse
import math
import statistics
import sys
import time

import numpy as np

PREDICTORS = ["lsa_trained", "lsa_astar", "gd_one_step", "averaging",
              "ols_minnorm", "ridge", "knn", "zero"]


def build_matrices(d, n_train):
    lam = np.eye(d)
    gamma = (1.0 + 1.0 / n_train) * lam + np.trace(lam) / n_train * np.eye(d)
    a_star = np.linalg.inv(gamma)
    # Symmetric perturbation so the "trained" matrix is genuinely distinct.
    a_trained = a_star + 1e-9 * np.ones((d, d))
    eta = np.trace(lam @ lam) / np.trace(gamma @ lam @ lam)
    a_gd = eta * np.eye(d)
    return lam, a_trained, a_star, a_gd


def eval_chunk(rng, p, d, m, chunk_mats, ridge_lambda, knn_k, ols_method):
    """Squared errors (p, n_predictors) for a chunk of p fresh prompts."""
    a_stack, chol = chunk_mats
    w = rng.standard_normal((p, d))
    x = rng.standard_normal((p, m, d))
    xq = rng.standard_normal((p, d))
    if chol is not None:  # identity covariance needs no transform
        x = x @ chol.T
        xq = xq @ chol.T

    y = np.einsum("pmd,pd->pm", x, w)
    t = np.einsum("pd,pd->p", xq, w)
    h = np.einsum("pmd,pm->pd", x, y) / m

    preds = np.empty((p, len(PREDICTORS)))
    # LSA family: x_q^T A h for the three matrices at once (one GEMM).
    xa = np.einsum("pd,kde->kpe", xq, a_stack)
    preds[:, 0:3] = np.einsum("kpe,pe->pk", xa, h)
    preds[:, 3] = np.einsum("pd,pd->p", xq, h)

    xt = x.transpose(0, 2, 1)
    if ols_method == "pinv":
        w_ols = np.einsum("pdm,pm->pd", np.linalg.pinv(x), y)
    elif m >= d:
        # Full column rank a.s.: normal equations give the unique LS solution.
        gram = xt @ x / m
        w_ols = np.linalg.solve(gram, h[..., None])[..., 0]
    else:
        # Underdetermined: min-norm solution X^T (X X^T)^-1 y.
        alpha = np.linalg.solve(x @ xt, y[..., None])
        w_ols = (xt @ alpha)[..., 0]
    preds[:, 4] = np.einsum("pd,pd->p", xq, w_ols)

    if ols_method == "pinv" or m < d:
        gram = xt @ x / m
    ridge_mat = gram + ridge_lambda * np.eye(d)
    w_ridge = np.linalg.solve(ridge_mat, h[..., None])[..., 0]
    preds[:, 5] = np.einsum("pd,pd->p", xq, w_ridge)

    # kNN: squared distances suffice for ranking.
    k = min(knn_k, m)
    diff = x - xq[:, None, :]
    dist2 = np.einsum("pmd,pmd->pm", diff, diff)
    if k < m:
        idx = np.argpartition(dist2, k - 1, axis=1)[:, :k]
        preds[:, 6] = np.take_along_axis(y, idx, axis=1).mean(axis=1)
    else:
        preds[:, 6] = y.mean(axis=1)

    preds[:, 7] = 0.0
    return (preds - t[:, None]) ** 2


def run_once(args, mats):
    rng = np.random.default_rng(args.seed)
    out = np.empty((args.prompts, len(PREDICTORS)))
    for start in range(0, args.prompts, args.chunk):
        p = min(args.chunk, args.prompts - start)
        out[start:start + p] = eval_chunk(rng, p, args.d, args.m, mats,
                                          args.ridge_lambda, args.knn_k,
                                          args.ols)
    mean = out.mean(axis=0)
    se = out.std(axis=0, ddof=1) / math.sqrt(args.prompts)
    return mean, se


def closed_forms(d, n, m, a_scalar):
    """Isotropic closed forms (Lambda = I) for scalar-times-identity readouts.

    E||a h - w||^2 with E||h||^2 = d (M+1+d)/M gives d[a^2 (M+1+d)/M - 2a + 1].
    """
    def lsa(a):
        return d * (a * a * (m + 1 + d) / m - 2 * a + 1)
    return {
        "lsa_astar": lsa(a_scalar),
        "gd_one_step": lsa(a_scalar),
        "lsa_trained": lsa(a_scalar),  # up to the 1e-9 perturbation
        "averaging": lsa(1.0),
        "ols_minnorm": max(d - m, 0),  # 0 when M >= d (noiseless)
        "zero": float(d),
    }


def blas_info():
    try:
        import threadpoolctl
    except ImportError:
        return None
    return threadpoolctl.threadpool_info()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--d", type=int, default=20)
    ap.add_argument("--n-train", type=int, default=40)
    ap.add_argument("--m", type=int, default=40)
    ap.add_argument("--prompts", type=int, default=10000)
    ap.add_argument("--chunk", type=int, default=1000)
    ap.add_argument("--ridge-lambda", type=float, default=0.1)
    ap.add_argument("--knn-k", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ols", choices=["gram", "pinv"], default="gram",
                    help="gram: batched solve of X^T X (M>=d) or X X^T (M<d);"
                         " pinv: batched SVD pseudo-inverse (slower)")
    args = ap.parse_args()

    lam, a_tr, a_star, a_gd = build_matrices(args.d, args.n_train)
    is_identity = np.array_equal(lam, np.eye(args.d))
    chol = None if is_identity else np.linalg.cholesky(lam)
    mats = (np.stack([a_tr, a_star, a_gd]), chol)

    print(f"python {sys.version.split()[0]}  numpy {np.__version__}")
    info = blas_info()
    if info:
        for lib in info:
            print(f"blas: {lib.get('internal_api')} {lib.get('version')} "
                  f"threads={lib.get('num_threads')} ({lib.get('filepath')})")

    times = []
    mean = se = None
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        mean, se = run_once(args, mats)
        times.append(time.perf_counter() - t0)

    cf = closed_forms(args.d, args.n_train, args.m, a_star[0, 0])
    print(f"d={args.d} N={args.n_train} M={args.m} prompts={args.prompts} "
          f"ridge_lambda={args.ridge_lambda} knn_k={args.knn_k} ols={args.ols}")
    print(f"{'predictor':<14}{'mse':>14}{'se':>12}{'closed_form':>14}")
    for i, name in enumerate(PREDICTORS):
        exp = cf.get(name)
        exp_s = f"{exp:14.6g}" if exp is not None else f"{'-':>14}"
        print(f"{name:<14}{mean[i]:14.6g}{se[i]:12.4g}{exp_s}")
    if args.m == args.n_train:
        d, n = args.d, args.n_train
        print(f"check: lsa_astar closed form d(d+1)/(N+d+1) = "
              f"{d * (d + 1) / (n + d + 1):.6g}")

    med = statistics.median(times)
    print(f"numpy_mc seconds_median={med:.6g} "
          f"prompts_per_second={args.prompts / med:.6g} "
          f"d={args.d} m={args.m} prompts={args.prompts}")


if __name__ == "__main__":
    main()
