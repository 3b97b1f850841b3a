"""The performance issue's 1,440-row sweep (d = 10, 20, 40; N = 20 to 200; four spectra; M = N and
M = 10; six shifts) on one process, timed whole, with one or two builds side by side:

    /usr/bin/python3 bench/default_speed.py [--after build/icl-sweep] [--before OLD/icl-sweep]
                                            [--rounds 1] [--only default,fixed]

Runs (alternating between builds each round, so that both see the same machine):
  - default: the config as written, nothing about Monte-Carlo set: the build's defaults (this one:
    a 1% relative standard error on every estimate but k-NN's, at most 10,000 prompts);
  - fixed:   exactly --count prompts a condition (2,000 by default, as the issue measured; 10,000 is
    the default cap: at least the default's precision on every row), eval.target_rel_se = 0 where
    the build knows the key.
For each: wall seconds (median of the rounds), prompts drawn per row, and the relative standard
error (se / |mean|) of the model's, OLS's and k-NN's estimates over the rows (median and largest;
OLS where its risk is finite and not zero up to rounding).
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import h5py
import pandas as pd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import precision_time  # noqa: E402  (exactly(): a fixed count for any build)

CONFIG = """[sweep]
name = default_speed
seed = 5
[grid]
d = 10, 20, 40
n_train = 20:200:20
spectrum = isotropic, power(1), power(2), geometric(100)
[eval]
m_test = n, 10
shift = none, covariate_scale(2), label_noise(0.5), task_mean(1), query_scale(2), covariate_isotropic
"""
ENV = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")


def run(program, ini, out, extra):
    for f in (out, out + ".journal"):
        if os.path.exists(f):
            os.remove(f)
    t0 = time.monotonic()
    subprocess.run([program, "--config", ini, "--output", out, "--progress", "0"] + extra, env=ENV, check=True,
                   capture_output=True)
    wall = time.monotonic() - t0
    with h5py.File(out, "r") as f:
        df = pd.DataFrame(f["results"][:])
    return wall, df


def precision(df):
    """Median and largest relative standard error of the model, OLS (finite, not zero) and k-NN."""
    out = {}
    noisy_ols = (df["m_test"] <= df["d"] + 1)  # label noise near M = d: no finite OLS risk
    for name in ("model", "ols", "knn"):
        mean, se = df[f"risk_{name}_mc"].abs(), df[f"risk_{name}_mc_se"]
        keep = mean > 1e-12 * df["risk_zero"].abs()
        if name == "ols":
            keep &= ~noisy_ols
        rse = (se / mean)[keep].dropna()
        out[name] = (float(rse.median()), float(rse.max())) if len(rse) else (float("nan"), float("nan"))
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--after", default=os.path.join(ROOT, "build", "icl-sweep"))
    p.add_argument("--before")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--only", default="default,fixed")
    p.add_argument("--count", type=int, default=2000, help="the fixed count (default 2000, as the issue measured)")
    args = p.parse_args()
    builds = [("after", args.after)] + ([("before", args.before)] if args.before else [])
    modes = args.only.split(",")
    version = lambda prog: subprocess.run([prog, "--version"], capture_output=True, text=True).stdout.strip()
    for label, prog in builds:
        print(f"{label}: {prog}: {version(prog)}")
    print(f"machine: {os.cpu_count()} cores, "
          f"{open('/proc/cpuinfo').read().split('model name')[1].split(':')[1].splitlines()[0].strip()}; one process\n")
    walls = {(b, m): [] for b, _ in builds for m in modes}
    frames = {}
    with tempfile.TemporaryDirectory() as tmp:
        ini = os.path.join(tmp, "sweep.ini")
        with open(ini, "w") as f:
            f.write(CONFIG)
        for _ in range(args.rounds):
            for mode in modes:
                for label, prog in builds:
                    extra = [] if mode == "default" else precision_time.exactly(prog, args.count)
                    wall, df = run(prog, ini, os.path.join(tmp, f"{label}_{mode}.h5"), extra)
                    walls[(label, mode)].append(wall)
                    frames[(label, mode)] = df
    print("| build | run | rows | wall (s) | prompts per row: median (min-max) | model rse: median / max | "
          "OLS rse | k-NN rse |\n|---|---|---|---|---|---|---|---|")
    for (label, mode), w in walls.items():
        df = frames[(label, mode)]
        pr = precision(df)
        n = df["mc_prompts"]
        cells = " | ".join(f"{pr[k][0]:.2%} / {pr[k][1]:.2%}" for k in ("model", "ols", "knn"))
        print(f"| {label} | {mode} | {len(df)} | {statistics.median(w):.1f} | {n.median():.0f} ({n.min()}-{n.max()}) | {cells} |")


if __name__ == "__main__":
    main()
