"""Intervals across training replicates, and the sign test (numpy only).

A replicate is a training run with its own initialisation and its own training prompts
(`grid.init_seed`, docs/interface.md, "Replicates"): the spread of a trained model's error across
replicates is the uncertainty a claim about the training has to carry, beside the Monte-Carlo
standard error of each estimate."""
import math

import numpy as np

def _t_central(t, df):
    """P(|T| <= t) for Student's t with integer df (Abramowitz & Stegun 26.7.3-4: finite sums in
    theta = atan(t / sqrt(df)))."""
    theta = math.atan(t / math.sqrt(df))
    s, c = math.sin(theta), math.cos(theta)
    if df % 2 == 1:
        total, term = 0.0, c
        for k in range(1, (df - 1) // 2 + 1):  # cos + (2/3) cos^3 + (2*4)/(3*5) cos^5 + ...
            if k > 1:
                term *= c * c * (2 * k - 2) / (2 * k - 1)
            total += term
        return (2.0 / math.pi) * (theta + s * total) if df > 1 else (2.0 / math.pi) * theta
    total, term = 1.0, 1.0
    for k in range(1, df // 2):  # 1 + (1/2) cos^2 + (1*3)/(2*4) cos^4 + ...
        term *= c * c * (2 * k - 1) / (2 * k)
        total += term
    return s * total


def t975(df):
    """t_{0.975, df}, Student's t quantile for integer df >= 1, to double precision (bisection on
    the exact distribution function); NaN for df < 1."""
    if df < 1:
        return math.nan
    df = int(df)
    low, high = 0.0, 1e3
    for _ in range(200):
        mid = 0.5 * (low + high)
        if _t_central(mid, df) < 0.95:
            low = mid
        else:
            high = mid
        if high - low <= 1e-15 * high:
            break
    return 0.5 * (low + high)


def interval(values):
    """(mean, half-width of the 95% t interval across the values, n); half-width NaN for n < 2."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    n = v.size
    if n == 0:
        return math.nan, math.nan, 0
    if n == 1:
        return float(v[0]), math.nan, 1
    return float(v.mean()), t975(n - 1) * float(v.std(ddof=1)) / math.sqrt(n), n


def sign_test(differences):
    """(positives, nonzero, two-sided p) of the sign test of a median difference of 0: exact
    binomial(nonzero, 1/2); p = 1 without a nonzero difference."""
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d) & (d != 0)]
    n, k = d.size, int((d > 0).sum())
    if n == 0:
        return 0, 0, 1.0
    tail = sum(math.comb(n, i) for i in range(0, min(k, n - k) + 1)) / 2.0 ** n
    return k, n, min(1.0, 2.0 * tail)
