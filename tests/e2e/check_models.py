"""End-to-end: a sweep over every kind of model. All models at one grid point are evaluated on the
same test prompts (their baselines agree bitwise); the sampled models give bitwise the same rows on
1 and 2 ranks and after a stop and --resume; columns say what was trained."""
import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np
import pandas as pd

from sweep_runner import MPI_ENV, TIMING_COLUMNS, check, finish, run_sweep

CONFIG = """[sweep]
name = models
seed = 5
[grid]
d = 3
n_train = 6
spectrum = isotropic, random_exp
model = flow, lsa, linear_transformer(2), gpt2(1, 1, 8)
[train]
steps = 100, 800
lr = 0.01
batch = 16
lr_schedule = warmup
trajectory_points = 8
[eval]
m_test = n, 9
shift = none, covariate_scale(2)
mc_prompts = 600
"""
BASELINES = ["risk_ols_mc", "risk_ridge_mc", "risk_gd_mc", "risk_avg_mc", "risk_knn_mc", "risk_zero",
             "risk_lsa_limit"]


def table(path):
    with h5py.File(path, "r") as f:
        r = f["results"][:]
        out = {n: r[n] for n in r.dtype.names if n not in TIMING_COLUMNS}
        for name in ("time", "loss", "rel_err", "excess_loss"):
            out["trajectory_" + name] = f["trajectories"][name][:]
        return out


def same(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind == "f") for k in a)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--program", required=True)
    prog = p.parse_args().program
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "models.ini")
        with open(cfg, "w") as f:
            f.write(CONFIG)
        one, two, resumed = (os.path.join(tmp, n) for n in ("one.h5", "two.h5", "resumed.h5"))
        r = run_sweep(prog, ["--config", cfg, "--output", one, "--progress", "0"])
        check(r.returncode == 0, f"1 rank: exit {r.returncode} {r.stderr}")
        r = run_sweep(prog, ["--config", cfg, "--output", two, "--progress", "0"], ranks=2)
        check(r.returncode == 0, f"2 ranks: exit {r.returncode} {r.stderr}")
        check(same(table(one), table(two)), "1 and 2 ranks differ")

        df = pd.DataFrame(h5py.File(one, "r")["results"][:])
        for c in ("model", "status", "spectrum", "shift"):
            df[c] = df[c].str.decode("ascii")
        check(sorted(df["model"].unique()) == ["flow", "gpt2(1, 1, 8)", "linear_transformer(2)", "lsa"],
              f"models {df['model'].unique()}")
        sampled = df[df["model"] != "flow"]
        check((sampled["status"] == "trained").all(), f"statuses {sampled['status'].unique()}")
        check((sampled["train_steps"] == sampled["steps"]).all(), "train_steps != steps")
        check(np.isfinite(sampled["train_loss_final"]).all(), "training loss not finite")
        lsa = df[df["model"] == "lsa"]
        check(np.isfinite(lsa["rel_err"]).all() and np.isfinite(lsa["offblock_norm"]).all(), "lsa A_eff columns")
        fixed = lsa[(lsa["spectrum"] == "isotropic")]
        check(np.isfinite(fixed["risk_a_eff_theory"]).all(), "lsa R(A_eff) missing on a fixed covariance")
        deep = df[df["model"].isin(["gpt2(1, 1, 8)", "linear_transformer(2)"])]
        check(deep["rel_err"].isna().all() and deep["risk_model_theory"].isna().all(), "A_eff reported for a deep model")
        check(np.isfinite(df["risk_model_mc"]).all(), "a model without Monte-Carlo error")
        # Paired evaluation: every model and hyperparameter at a grid point sees the same prompts.
        keys = ["spectrum", "m_test", "shift"]
        for column in BASELINES:
            spread = df.groupby(keys)[column].agg(lambda v: len(set(np.asarray(v).tobytes()[i:i + 8]
                                                                   for i in range(0, 8 * len(v), 8))))
            check((spread == 1).all(), f"{column} differs between models at one grid point")
        flow = df[df["model"] == "flow"]
        check(np.array_equal(flow["risk_model_theory"], flow["risk_a_eff_theory"], equal_nan=True), "flow: A_eff is A")

        # Stopped by SIGINT once the journal holds some runs, then resumed: equal to the clean run.
        env = dict(os.environ, **MPI_ENV)
        proc = subprocess.Popen([prog, "--config", cfg, "--output", resumed, "--progress", "0"], env=env,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and (not os.path.exists(resumed + ".journal")
                                               or os.path.getsize(resumed + ".journal") < 20000):
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
        check(proc.returncode in (0, 3), f"SIGINT: exit {proc.returncode}")
        if proc.returncode == 3:
            r = run_sweep(prog, ["--resume", resumed, "--progress", "0"])
            check(r.returncode == 0, f"resume: exit {r.returncode} {r.stderr}")
        check(same(table(resumed), table(one)), "stopped and resumed sweep differs from the clean run")
    return finish("models")


if __name__ == "__main__":
    sys.exit(main())
