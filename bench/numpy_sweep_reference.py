#!/usr/bin/python3
"""A careful researcher's NumPy/SciPy script for the two 32-row sweeps of bench/precision_time.py.

This is the baseline that icl-sweep is timed against, whole sweep against whole sweep. It does the
work of icl-sweep's default config (docs/interface.md) on one core:

  sweep mild:  spectra isotropic, power(1);  sweep stiff: geometric(100), geometric(1000)
  d in {10, 20}, N in {20, 80}, M = N, seed 11, sigma = 0.01, init_seed 0
  shifts none, covariate_scale(2), label_noise(0.5), task_mean(1)
  -> 8 training runs x 4 shifts = 32 rows.

Per training run (d, N, spectrum), docs/theory.md §2-§3, §6:
  Lambda = diag(lambda) (every spectrum here is diagonal in the standard basis, V = I, tr = d);
  the reduced population gradient flow in the eigenbasis, state y = (u, vec U~), 1 + d^2 entries,
      dU~_kj/dt = -u^2 C_jk U~_kj + u D_j delta_jk,   du/dt = -u sum_jk C_jk U~_kj^2 + sum_j D_j U~_jj,
      C_jk = lambda_j lambda_k gamma_k, D_j = lambda_j^2, gamma_k = (1 + 1/N) lambda_k + tr Lambda / N,
  from u(0) = sigma, U(0) = sigma Theta Theta^T (Theta Theta^T = M0 M0^T / ||M0 M0^T||_F, M0 Gaussian;
  NumPy's generator, so not icl-sweep's Theta, the same law), integrated by scipy.integrate.solve_ivp
  (LSODA for the mild spectra, BDF for the stiff ones, with the exact arrow-shaped Jacobian, dense for
  LSODA, scipy.sparse for BDF (2.5x faster than dense here: splu of an arrow matrix is O(d^2));
  rtol 1e-7, atol 1e-3 rtol min(sigma, u*)) until rel_err = ||A - A*||_F / ||A*||_F <= tol = 1e-8
  (a terminal event) or t = t_max = 1e9.
Per row (training run x shift), docs/theory.md §5, §7, §8:
  closed forms R(A) of the trained A, of A* and of one-step GD eta* I, and R0 = tr(Lambda_q S_w);
  plain Monte-Carlo over P prompts (w, X, x_q, label noise all sampled; batched NumPy) of
  the trained LSA, the LSA at A*, OLS (batched normal equations, M >= d here since M = N >= 20 >= d;
  prompts whose Gram matrix has a squared Cholesky pivot ratio below 1e-8 fall back to lstsq,
  the minimum-norm solution, as icl-sweep does; M < d would use X^T (X X^T)^-1 y), ridge (lambda 0.1),
  one-step GD, averaging, k-NN (k = 3, noisy labels) and zero, each with mean and standard error.

Usage:
  /usr/bin/python3 bench/numpy_sweep_reference.py --sweep mild [--prompts 5000]
  /usr/bin/python3 bench/numpy_sweep_reference.py --sweep stiff --target-rel-se 0.01 [--cap 200000]
      (sample each row in batches until the model's and OLS's relative standard error is <= T;
       OLS is exempt where its mean is ~0 (noiseless interpolation, mean <= 1e-12 R0) and under
       label noise with M <= d + 1, where its risk is infinite, as in bench/precision_time.py)
  --knn-k 0 leaves k-NN out (precision_time.py's target run does); --out FILE.csv writes the rows.

Timing: `seconds` runs from the start of main() to the end (imports of numpy/scipy, 0.1-0.25 s here,
are excluded and printed separately); `train_seconds` is the solve_ivp time, `eval_seconds` the
closed forms and Monte-Carlo. BLAS/OpenMP are held to one thread. Last line:
  numpy_sweep sweep=<mild|stiff> seconds=<x> train_seconds=<y> eval_seconds=<z> rows=32 prompts=<total>
"""
import os
import time

_T_IMPORT = time.perf_counter()
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
           "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import math  # noqa: E402

import numpy as np  # noqa: E402
from scipy import sparse  # noqa: E402
from scipy.integrate import solve_ivp  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - _T_IMPORT

SWEEPS = {"mild": ["isotropic", "power(1)"], "stiff": ["geometric(100)", "geometric(1000)"]}
SHIFTS = ["none", "covariate_scale(2)", "label_noise(0.5)", "task_mean(1)"]
DS, NS = (10, 20), (20, 80)
SEED = 11
SIGMA, INIT_SEED = 0.01, 0
TOL, T_MAX, RTOL = 1e-8, 1e9, 1e-7
RIDGE_LAMBDA = 0.1
PIVOT_RATIO = 1e-8
PREDICTORS = ["model", "lsa_limit", "ols", "ridge", "gd", "avg", "knn", "zero"]
CHUNK = 2000  # prompts per batched block


# ---------------------------------------------------------------- spectra and training (§2, §3, §6)
def spectrum(name, d):
    """Eigenvalues, decreasing, normalised to tr = d (docs/theory.md §6)."""
    k = np.arange(1, d + 1, dtype=float)
    if name == "isotropic":
        lam = np.ones(d)
    elif name.startswith("power("):
        lam = k ** -float(name[6:-1])
    elif name.startswith("geometric("):
        kappa = float(name[10:-1])
        lam = kappa ** (-(k - 1) / (d - 1)) if d > 1 else np.ones(1)
    else:
        raise ValueError(name)
    return lam * d / lam.sum()


def flow_coefficients(lam, n):
    gamma = (1 + 1 / n) * lam + lam.sum() / n
    c = lam[:, None] * lam[None, :] * gamma[None, :]  # C_jk
    return c, lam ** 2, gamma


def train(lam, n, method, rng):
    """Gradient flow of §3 in the eigenbasis; returns A (d x d, eigenbasis = standard basis here)."""
    d = lam.size
    c, dvec, gamma = flow_coefficients(lam, n)
    ct = c.T                                   # ct[k, j] = C_jk multiplies U~_kj
    a_star = np.diag(dvec / np.diag(c))        # A* = diag(D / C_diag) = Gamma^-1
    a_star_norm = np.linalg.norm(a_star)
    u_star = math.sqrt(a_star_norm)
    m0 = rng.standard_normal((d, d))
    tt = m0 @ m0.T
    tt /= np.linalg.norm(tt)
    y0 = np.concatenate([[SIGMA], (SIGMA * tt).ravel()])
    diag_idx = np.arange(d) * (d + 1)

    def rhs(t, y):
        u, uu = y[0], y[1:].reshape(d, d)
        dy = np.empty_like(y)
        du = -u * u * ct * uu
        du.flat[diag_idx] += u * dvec
        dy[1:] = du.ravel()
        dy[0] = -u * np.sum(ct * uu * uu) + dvec @ np.diag(uu)
        return dy

    ct_flat = ct.ravel()
    size = 1 + d * d
    # The Jacobian is an arrow matrix: u couples to every entry, each entry only to u and itself.
    # LSODA takes it dense; BDF takes it sparse (splu), which costs O(d^2) per factorisation.
    rows = np.concatenate([[0], np.zeros(d * d, int), np.arange(1, size), np.arange(1, size)])
    cols = np.concatenate([[0], np.arange(1, size), np.zeros(d * d, int), np.arange(1, size)])

    def jac_entries(y):
        u, uu = y[0], y[1:]
        g = -2 * u * ct_flat * uu
        g[diag_idx] += dvec
        return -np.sum(ct_flat * uu * uu), g, -u * u * ct_flat

    def jac_dense(t, y):
        j00, g, diag = jac_entries(y)
        j = np.zeros((size, size))
        j[0, 0] = j00
        j[0, 1:] = g
        j[1:, 0] = g
        j[np.arange(1, size), np.arange(1, size)] = diag
        return j

    def jac_sparse(t, y):
        j00, g, diag = jac_entries(y)
        return sparse.csc_matrix((np.concatenate([[j00], g, g, diag]), (rows, cols)), shape=(size, size))

    jac = jac_sparse if method == "BDF" else jac_dense

    def rel_err(y):
        return np.linalg.norm(y[0] * y[1:].reshape(d, d).T - a_star) / a_star_norm

    def converged(t, y):
        return rel_err(y) - TOL
    converged.terminal = True
    converged.direction = -1

    atol = 1e-3 * RTOL * min(SIGMA, u_star)
    sol = solve_ivp(rhs, (0.0, T_MAX), y0, method=method, jac=jac, events=converged,
                    rtol=RTOL, atol=atol)
    y = sol.y[:, -1] if sol.status != 1 else sol.y_events[0][0]
    t_end = sol.t[-1] if sol.status != 1 else sol.t_events[0][0]
    status = {1: "converged", 0: "max_time"}.get(sol.status, "failed")
    u, uu = y[0], y[1:].reshape(d, d)
    a = u * uu.T
    drift = abs((u * u - np.sum(uu * uu)) - (y0[0] ** 2 - np.sum(y0[1:] ** 2)))
    eta = dvec.sum() / np.trace(c)              # one-step GD: tr(Lambda^2) / tr(Gamma Lambda^2)
    return dict(a=a, a_star=a_star, eta=eta, status=status, t=t_end, nfev=sol.nfev, njev=sol.njev,
                steps=sol.t.size - 1, rel_err=rel_err(y), drift=drift)


# ---------------------------------------------------------------- shifts and closed forms (§5, §7)
def shift_params(name, d):
    """(covariate scale c, label noise s, task mean mu)."""
    c, s, mu = 1.0, 0.0, np.zeros(d)
    if name == "none":
        pass
    elif name.startswith("covariate_scale("):
        c = float(name[16:-1])
    elif name.startswith("label_noise("):
        s = float(name[12:-1])
    elif name.startswith("task_mean("):
        mu = np.full(d, float(name[10:-1]) / math.sqrt(d))
    else:
        raise ValueError(name)
    return c, s, mu


def closed_risk(a, lp, lq, sw, s, m):
    """R(A) of docs/theory.md §5 for x_q^T A (1/M) sum y_i x_i."""
    k = (1 + 1 / m) * lp @ sw @ lp + np.trace(sw @ lp) / m * lp
    return (np.trace(lq @ a @ k @ a.T) - 2 * np.trace(lq @ a @ lp @ sw) + np.trace(lq @ sw)
            + s * s / m * np.trace(lq @ a @ lp @ a.T))


# ---------------------------------------------------------------- Monte-Carlo (§8, plain sampling)
def mc_chunk(rng, p, m, sqrt_lam, c, s, mu, a_model, a_star, eta, knn_k):
    """Squared errors (p, 8) of every predictor on p fresh prompts."""
    d = sqrt_lam.size
    w = mu + rng.standard_normal((p, d))
    x = rng.standard_normal((p, m, d)) * (c * sqrt_lam)
    xq = rng.standard_normal((p, d)) * (c * sqrt_lam)
    y = np.einsum("pmd,pd->pm", x, w)
    if s > 0:
        y += s * rng.standard_normal((p, m))
    t = np.einsum("pd,pd->p", xq, w)
    xty = np.einsum("pmd,pm->pd", x, y)
    h = xty / m
    pred = np.empty((p, len(PREDICTORS)))
    pred[:, 0:2] = np.einsum("pd,kde,pe->pk", xq, np.stack([a_model, a_star]), h, optimize=True)
    avg = np.einsum("pd,pd->p", xq, h)
    pred[:, 4] = eta * avg
    pred[:, 5] = avg
    xt = x.transpose(0, 2, 1)
    if m >= d:  # batched normal equations; ill-conditioned designs -> minimum-norm lstsq
        gram = xt @ x
        try:
            ldiag = np.diagonal(np.linalg.cholesky(gram), axis1=1, axis2=2)
            bad = (ldiag.min(axis=1) / ldiag.max(axis=1)) ** 2 < PIVOT_RATIO
        except np.linalg.LinAlgError:
            ev = np.linalg.eigvalsh(gram)
            bad = ev[:, 0] < PIVOT_RATIO * ev[:, -1]
        w_ols = np.linalg.solve(gram[~bad], xty[~bad][..., None])[..., 0] if not bad.all() else None
        full = np.empty((p, d))
        if w_ols is not None:
            full[~bad] = w_ols
        for i in np.flatnonzero(bad):
            full[i] = np.linalg.lstsq(x[i], y[i], rcond=None)[0]
        w_ols = full
    else:       # minimum norm X^T (X X^T)^-1 y (never taken in these sweeps: M = N >= d)
        gram = xt @ x
        w_ols = (xt @ np.linalg.solve(x @ xt, y[..., None]))[..., 0]
    pred[:, 2] = np.einsum("pd,pd->p", xq, w_ols)
    w_ridge = np.linalg.solve(gram / m + RIDGE_LAMBDA * np.eye(d), h[..., None])[..., 0]
    pred[:, 3] = np.einsum("pd,pd->p", xq, w_ridge)
    if knn_k > 0:
        k = min(knn_k, m)
        diff = x - xq[:, None, :]
        dist2 = np.einsum("pmd,pmd->pm", diff, diff)
        idx = np.argpartition(dist2, k - 1, axis=1)[:, :k] if k < m else np.broadcast_to(np.arange(m), (p, m))
        pred[:, 6] = np.take_along_axis(y, idx, axis=1).mean(axis=1)
    else:
        pred[:, 6] = np.nan
    pred[:, 7] = 0.0
    return (pred - t[:, None]) ** 2


def evaluate(rng, args, m, sqrt_lam, c, s, mu, tr_run, r0):
    """Sample one row: a fixed count, or batches until the relative standard error target."""
    d = sqrt_lam.size
    blocks, n = [], 0
    infinite_ols = s > 0 and m <= d + 1
    cap = args.cap if args.target_rel_se > 0 else args.prompts
    target_next = min(cap, 2 * CHUNK)
    while n < cap:
        p = min(CHUNK, target_next - n)
        blocks.append(mc_chunk(rng, p, m, sqrt_lam, c, s, mu, tr_run["a"], tr_run["a_star"],
                               tr_run["eta"], args.knn_k))
        n += p
        if n < target_next:
            continue
        if args.target_rel_se <= 0:
            target_next = cap
            continue
        err = np.concatenate(blocks)
        mean, se = err.mean(axis=0), err.std(axis=0, ddof=1) / math.sqrt(n)
        ok = se[0] <= args.target_rel_se * abs(mean[0])
        if not infinite_ols and mean[2] > 1e-12 * r0:
            ok = ok and se[2] <= args.target_rel_se * mean[2]
        if ok:
            break
        target_next = min(cap, n + max(CHUNK, n // 4))
    err = np.concatenate(blocks)
    return err.mean(axis=0), err.std(axis=0, ddof=1) / math.sqrt(n), n


# ---------------------------------------------------------------- the sweep
def main():
    t_main = time.perf_counter()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", choices=SWEEPS, default="mild")
    ap.add_argument("--prompts", type=int, default=5000, help="Monte-Carlo prompts per row")
    ap.add_argument("--target-rel-se", type=float, default=0.0,
                    help="> 0: sample until the model's and OLS's se <= T |mean| (--cap at most)")
    ap.add_argument("--cap", type=int, default=200000)
    ap.add_argument("--knn-k", type=int, default=3, help="0 = no k-NN")
    ap.add_argument("--out", help="write the 32 rows to this CSV file")
    ap.add_argument("--quiet", action="store_true", help="no per-row table")
    args = ap.parse_args()

    train_seconds = eval_seconds = 0.0
    rows = []
    for d in DS:
        for n in NS:
            for spec in SWEEPS[args.sweep]:
                lam = spectrum(spec, d)
                method = "LSODA" if args.sweep == "mild" else "BDF"
                t0 = time.perf_counter()
                tr_run = train(lam, n, method, np.random.default_rng([SEED, 0x7468657461, INIT_SEED, d]))
                train_seconds += time.perf_counter() - t0
                m = n  # eval.m_test = n
                t0 = time.perf_counter()
                for ci, shift in enumerate(SHIFTS):
                    c, s, mu = shift_params(shift, d)
                    lp = lq = c * c * np.diag(lam)
                    sw = np.eye(d) + np.outer(mu, mu)
                    r0 = float(np.trace(lq @ sw))
                    theory = dict(model=closed_risk(tr_run["a"], lp, lq, sw, s, m),
                                  lsa_limit=closed_risk(tr_run["a_star"], lp, lq, sw, s, m),
                                  gd=closed_risk(tr_run["eta"] * np.eye(d), lp, lq, sw, s, m), zero=r0)
                    rng = np.random.default_rng([SEED, list(SWEEPS).index(args.sweep), d, n,
                                                SWEEPS[args.sweep].index(spec), ci])
                    mean, se, used = evaluate(rng, args, m, np.sqrt(lam), c, s, mu, tr_run, r0)
                    row = dict(d=d, n_train=n, m_test=m, spectrum=spec, shift=shift, status=tr_run["status"],
                               gf_time=tr_run["t"], gf_steps=tr_run["steps"], nfev=tr_run["nfev"],
                               rel_err=tr_run["rel_err"], balance_drift=tr_run["drift"], mc_prompts=used)
                    for k, v in theory.items():
                        row[f"risk_{k}_theory"] = v
                    for i, name in enumerate(PREDICTORS):
                        row[f"risk_{name}_mc"], row[f"risk_{name}_mc_se"] = mean[i], se[i]
                    rows.append(row)
                eval_seconds += time.perf_counter() - t0

    total = time.perf_counter() - t_main
    if not args.quiet:
        print(f"{'d':>3}{'N':>4} {'spectrum':<16}{'shift':<19}{'status':<10}{'gf_time':>11}{'steps':>6}"
              f"{'rel_err':>9}{'R_theory':>11}{'model_mc':>11}{'se':>9}{'ols_mc':>11}{'knn_mc':>9}"
              f"{'zero':>6}{'P':>8}")
        for r in rows:
            print(f"{r['d']:>3}{r['n_train']:>4} {r['spectrum']:<16}{r['shift']:<19}{r['status']:<10}"
                  f"{r['gf_time']:>11.4g}{r['gf_steps']:>6}{r['rel_err']:>9.2e}{r['risk_model_theory']:>11.5g}"
                  f"{r['risk_model_mc']:>11.5g}{r['risk_model_mc_se']:>9.3g}{r['risk_ols_mc']:>11.4g}"
                  f"{r['risk_knn_mc']:>9.4g}{r['risk_zero_theory']:>6.3g}{r['mc_prompts']:>8}")
    if args.out:
        import csv
        with open(args.out, "w", newline="") as f:
            wr = csv.DictWriter(f, fieldnames=list(rows[0]))
            wr.writeheader()
            wr.writerows(rows)
    prompts = sum(r["mc_prompts"] for r in rows)
    print(f"imports (numpy, scipy.integrate) {IMPORT_SECONDS:.3f} s, not included below")
    print(f"whole sweep, main() start to end: {total:.3f} s (training {train_seconds:.3f} s with solve_ivp "
          f"{'LSODA' if args.sweep == 'mild' else 'BDF'}, evaluation {eval_seconds:.3f} s), "
          f"{len(rows)} rows, {prompts} prompts")
    print(f"numpy_sweep sweep={args.sweep} seconds={total:.4f} train_seconds={train_seconds:.4f} "
          f"eval_seconds={eval_seconds:.4f} rows={len(rows)} prompts={prompts}")


if __name__ == "__main__":
    main()
