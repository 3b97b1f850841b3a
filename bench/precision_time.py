"""Seconds to reach a 1% relative standard error on the model's and OLS's risk, for two builds of
icl-sweep side by side (for example the plain Monte-Carlo of an older commit against the current
conditional one), on the two 32-row sweeps of the performance issue: d in {10, 20}, N in {20, 80},
M = N, four shifts, mild (isotropic, power(1)) and stiff (geometric(100), geometric(1000)) spectra.

For each build and row: the evaluation seconds per prompt (the row's `seconds` less its share of
training) and the relative standard deviation per prompt (se sqrt(n) / |mean|) of the model's and
OLS's estimates at --prompts prompts; the prompts a 1% relative standard error needs are
(rsd / 0.01)^2 for the worse of the two (a mean below 1e-12 R0 needs none). Their product, summed
over the rows, is the sweep's evaluation time to 1%. OLS under label noise with M <= d + 1 has an
infinite risk and asks for no precision (no estimator can reach one there). The current build is also run once with
eval.target_rel_se = 0.01 (k-NN off), and its wall time reported as measured.

Usage: python3 bench/precision_time.py --before OLD/icl-sweep --after build/icl-sweep [--rounds 3]
"""
import argparse
import os
import statistics
import subprocess
import tempfile
import time

import h5py
import numpy as np
import pandas as pd

SWEEPS = {"mild": "isotropic, power(1)", "stiff": "geometric(100), geometric(1000)"}
SHIFTS = "none, covariate_scale(2), label_noise(0.5), task_mean(1)"
CAP = 200000  # prompts per row at most in the run to a target
ENV = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")


def config(tmp, name, spectra):
    path = os.path.join(tmp, f"{name}.ini")
    with open(path, "w") as f:
        f.write(f"[sweep]\nname = {name}\nseed = 11\n[grid]\nd = 10, 20\nn_train = 20, 80\nspectrum = {spectra}\n"
                f"[eval]\nshift = {SHIFTS}\n")
    return path


def run(program, ini, out, extra):
    for f in (out, out + ".journal"):
        if os.path.exists(f):
            os.remove(f)
    t0 = time.monotonic()
    subprocess.run([program, "--config", ini, "--output", out, "--progress", "0"] + extra,
                   env=ENV, check=True, capture_output=True)
    wall = time.monotonic() - t0
    df = pd.DataFrame(h5py.File(out, "r")["results"][:])
    return wall, df


def exactly(program, prompts):
    """The arguments that make `program` draw exactly `prompts` a row: a build with a precision
    target by default (eval.target_rel_se) is told to draw a fixed count; an older one knows no target."""
    help_text = subprocess.run([program, "--help"], capture_output=True, text=True).stdout
    fixed = ["--eval.target_rel_se", "0"] if "eval.target_rel_se" in help_text else []
    return ["--eval.mc_prompts", str(prompts)] + fixed


def seconds_to_one_percent(df):
    n = df["mc_prompts"].astype(float)
    conditions = df.groupby("train_id")["row"].transform("count")
    per_prompt = (df["seconds"] - df["train_seconds"] / conditions) / n
    needed = np.zeros(len(df))
    # OLS under label noise with M <= d + 1 has an infinite risk (E tr (X^T X)^-1 diverges):
    # no estimator reaches any precision there, so those rows ask nothing of OLS.
    noisy = df["shift"].str.decode("ascii").str.startswith("label_noise")
    infinite_ols = noisy & (df["m_test"] <= df["d"] + 1)
    for col in ("risk_model_mc", "risk_ols_mc"):
        mean, se = df[col].abs(), df[col + "_se"]
        rsd = np.where(mean > 1e-12 * df["risk_zero"], se * np.sqrt(n) / mean, 0.0)
        if col == "risk_ols_mc":
            rsd = np.where(infinite_ols, 0.0, rsd)
        needed = np.maximum(needed, (rsd / 0.01) ** 2)
    return float((needed * per_prompt).sum()), float(np.median(needed))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--before", required=True)
    p.add_argument("--after", required=True)
    p.add_argument("--prompts", type=int, default=5000)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    version = lambda prog: subprocess.run([prog, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"before: {version(args.before)}\nafter:  {version(args.after)}")
    print(f"machine: {os.cpu_count()} cores, {open('/proc/cpuinfo').read().split('model name')[1].split(':')[1].splitlines()[0].strip()}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, spectra in SWEEPS.items():
            ini = config(tmp, name, spectra)
            times = {"before": [], "after": []}
            medians = {}
            direct = []
            for _ in range(args.rounds):  # alternating, so that both see the same machine
                for label, prog in (("before", args.before), ("after", args.after)):
                    _, df = run(prog, ini, os.path.join(tmp, f"{name}_{label}.h5"), exactly(prog, args.prompts))
                    seconds, median_needed = seconds_to_one_percent(df)
                    times[label].append(seconds)
                    medians[label] = median_needed
                wall, df = run(args.after, ini, os.path.join(tmp, f"{name}_target.h5"),
                               ["--eval.mc_prompts", str(CAP), "--eval.target_rel_se", "0.01", "--eval.knn_k", "0"])
                direct.append(wall)
            b, a = statistics.median(times["before"]), statistics.median(times["after"])
            print(f"{name} spectra ({spectra}), 32 rows: evaluation seconds to 1% on model and OLS: "
                  f"before {b:.2f} s (median {medians['before']:.0f} prompts per row), after {a:.3f} s "
                  f"(median {medians['after']:.0f} prompts per row): {b / a:.0f}x less time")
            capped = df[df["mc_prompts"] == CAP]
            print(f"  after, run with eval.target_rel_se = 0.01 and eval.mc_prompts = {CAP} (every estimate but "
                  f"k-NN, k-NN off): {statistics.median(direct):.2f} s wall for the whole sweep (median of "
                  f"{args.rounds}), prompts per row {int(df['mc_prompts'].min())}-{int(df['mc_prompts'].max())}, "
                  f"{len(capped)} rows at the cap (infinite OLS risk: label noise with M <= d + 1)")


if __name__ == "__main__":
    main()
