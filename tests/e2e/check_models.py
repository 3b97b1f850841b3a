"""End-to-end: a sweep over every kind of model. All models at one grid point are evaluated on the
same test prompts (their baselines agree bitwise), and so are models trained on other covariances
where the test law does not depend on the training covariance (covariate_random, as in
jobs/paper_nonlinear.ini, and covariate_isotropic); the sampled models give bitwise the same rows on
1 and 2 ranks and after a stop and --resume; columns say what was trained."""
import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

from sweep_runner import result_columns, same_columns, table, MPI_ENV, check, finish, run_sweep

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
shift = none, covariate_scale(2), covariate_random(1, 4), covariate_isotropic
mc_prompts = 600
"""
LONG_CONFIG = """[sweep]
name = long
seed = 9
[grid]
d = 3
n_train = 8
model = gpt2(2, 2, 16)
[train]
steps = 1500
lr = 0.002
batch = 32
checkpoint_seconds = 0.25
trajectory_points = 16
[eval]
mc_prompts = 300
"""
# Trained layers whose extra blocks are not zero (offblock_norm 0.03 to 0.3), evaluated with enough
# prompts that the plain estimate's standard error can be trusted under the heavy-tailed laws.
LAYER_CONFIG = """[sweep]
name = layer
seed = 3
[grid]
d = 3
n_train = 6
spectrum = isotropic, random_exp
model = lsa
[train]
steps = 100, 800
lr = 0.01
batch = 16
lr_schedule = warmup
trajectory_points = 4
[eval]
m_test = n, 9
shift = none, covariate_scale(2), covariate_random(1), covariate_isotropic
mc_prompts = 100000
knn_k = 0
"""
BASELINES = ["risk_ols_mc", "risk_ridge_mc", "risk_gd_mc", "risk_avg_mc", "risk_knn_mc", "risk_zero",
             "risk_lsa_limit"]


def check_layer_risk(prog, tmp):
    """The whole layer's risk (docs/theory.md §12, `risk_model_theory` of lsa rows) against plain
    Monte-Carlo of the same trained layer on the same prompts (`risk_model_mc`): within 3 standard
    errors of their difference on every row of a fixed test covariance (4 under a per-prompt one),
    with a standard error never larger, and 4 times smaller in the median. (Paired with A*, the
    layer is evaluated on fewer prompts where it is close to A*, docs/theory.md §12: a layer of
    100 steps, far from A*, keeps about the precision of its error on every prompt.)"""
    cfg, out = os.path.join(tmp, "layer.ini"), os.path.join(tmp, "layer.h5")
    with open(cfg, "w") as f:
        f.write(LAYER_CONFIG)
    r = run_sweep(prog, ["--config", cfg, "--output", out, "--progress", "0"], ranks=2)
    check(r.returncode == 0, f"layer sweep: exit {r.returncode} {r.stderr}")
    df = table(out)
    check(len(df) == 32 and (df["offblock_norm"] > 0.01).all(), "the layer sweep's extra blocks")
    z = (df["risk_model_theory"] - df["risk_model_mc"]) / np.hypot(df["risk_model_theory_se"], df["risk_model_mc_se"])
    ratio = df["risk_model_mc_se"] / df["risk_model_theory_se"]
    # Under a per-prompt covariance (random_exp's own law, covariate_random) the squared errors are
    # heavy-tailed (fourth moments of lambda and beyond): plain Monte-Carlo's standard error
    # understates its spread at any count this test can afford, so those rows get 4 of them (at
    # 200,000 prompts every |z| was below 1.4; tests/test_lsa_layer.cpp checks the algebra exactly).
    per_prompt = df["spectrum"].eq("random_exp") & ~df["shift"].eq("covariate_isotropic")
    per_prompt |= df["shift"].str.startswith("covariate_random")
    bound = np.where(per_prompt, 4.0, 3.0)
    check(np.isfinite(z).all() and (z.abs() <= bound).all(), f"the layer's risk is not its plain Monte-Carlo's: z {z.round(2).tolist()}")
    check((ratio >= 1.0).all() and ratio.median() >= 4, f"the layer's estimate is not the more precise: se ratios {ratio.round(1).tolist()}")
    print(f"lsa layer risk: {len(df)} rows, |z| at most {z.abs().max():.2f}, "
          f"se ratio plain/theory {ratio.min():.1f} to {ratio.max():.1f} (median {ratio.median():.1f})")


def check_parameters(path, df, repository):
    """The kept weights (icl_sweep.parameters): one layer per lsa run, two per linear_transformer(2)
    run, none for flow and GPT-2, each (d+1) x (d+1); the lsa layer's extra blocks are the stored
    offblock_norm."""
    sys.path.insert(0, repository)
    import icl_sweep
    w = icl_sweep.parameters(path)
    runs = df.drop_duplicates("train_id").set_index("train_id")
    layers = w.groupby("train_id")["layer"].count()
    want = {"lsa": 1, "linear_transformer(2)": 2}
    check(set(layers.index) == set(runs.index[runs["model"].isin(list(want))]), "runs with kept weights")
    check(all(layers[t] == want[runs.loc[t, "model"]] for t in layers.index), "layers kept per run")
    d = 3
    check(all(m.shape == (d + 1, d + 1) for m in w["w_pv"]) and all(m.shape == (d + 1, d + 1) for m in w["w_kq"]),
          "weight shapes")
    for _, r in w[w["model"] == "lsa"].iterrows():
        offblock = np.sqrt(np.sum(r["w_pv"][d, :d] ** 2) + np.sum(r["w_kq"][d, :d] ** 2))
        stored = runs.loc[r["train_id"], "offblock_norm"]
        check(abs(offblock - stored) <= 1e-12 * stored, f"run {r['train_id']}: offblock {offblock} from the weights, {stored} stored")
    # The program's outside_sparse column: the largest per-layer share (computed here from the weights).
    largest = w.groupby("train_id")["outside_sparse"].max()
    stored = runs.loc[largest.index, "outside_sparse"]
    check(np.allclose(largest.to_numpy(), stored.to_numpy(), rtol=1e-12, atol=0), "outside_sparse is not the weights'")
    check(runs.loc[~runs.index.isin(largest.index), "outside_sparse"].isna().all(), "outside_sparse without weights")
    print(f"parameters: {len(w)} layers of {layers.size} runs; outside the sparse form: "
          f"{largest.min():.3g} to {largest.max():.3g}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--program", required=True)
    p.add_argument("--repository", required=True)
    args = p.parse_args()
    prog = args.program
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "models.ini")
        with open(cfg, "w") as f:
            f.write(CONFIG)
        one, two, resumed = (os.path.join(tmp, n) for n in ("one.h5", "two.h5", "resumed.h5"))
        r = run_sweep(prog, ["--config", cfg, "--output", one, "--progress", "0"])
        check(r.returncode == 0, f"1 rank: exit {r.returncode} {r.stderr}")
        r = run_sweep(prog, ["--config", cfg, "--output", two, "--progress", "0"], ranks=2)
        check(r.returncode == 0, f"2 ranks: exit {r.returncode} {r.stderr}")
        check(same_columns(result_columns(one, trajectories=True), result_columns(two, trajectories=True)), "1 and 2 ranks differ")

        df = table(one)
        check(sorted(df["model"].unique()) == ["flow", "gpt2(1, 1, 8)", "linear_transformer(2)", "lsa"],
              f"models {df['model'].unique()}")
        sampled = df[df["model"] != "flow"]
        check((sampled["status"] == "trained").all(), f"statuses {sampled['status'].unique()}")
        check((sampled["train_steps"] == sampled["steps"]).all(), "train_steps != steps")
        check(np.isfinite(sampled["train_loss_final"]).all(), "training loss not finite")
        lsa = df[df["model"] == "lsa"]
        check(np.isfinite(lsa["rel_err"]).all() and np.isfinite(lsa["offblock_norm"]).all(), "lsa A_eff columns")
        fixed = lsa[(lsa["spectrum"] == "isotropic") & ~lsa["shift"].str.startswith("covariate_random")]
        check(np.isfinite(fixed["risk_a_eff_theory"]).all(), "lsa R(A_eff) missing on a fixed covariance")
        check(np.isfinite(lsa["risk_model_theory"]).all() and np.isfinite(lsa["risk_model_theory_se"]).all(),
              "lsa: the layer's risk by theory is missing")
        check_layer_risk(prog, tmp)
        check_parameters(one, df, args.repository)
        deep = df[df["model"].isin(["gpt2(1, 1, 8)", "linear_transformer(2)"])]
        check(deep["rel_err"].isna().all() and deep["risk_model_theory"].isna().all(), "A_eff reported for a deep model")
        check(np.isfinite(df["risk_model_mc"]).all(), "a model without Monte-Carlo error")
        # The L-step GD reference (docs/theory.md §13): linear_transformer(L) rows only, and made from
        # the training law and the test prompts alone, so the same for 100 and 800 training steps.
        lt = df[df["model"] == "linear_transformer(2)"]
        check(np.isfinite(lt["risk_gd_steps_mc"]).all() and np.isfinite(lt["risk_gd_steps_mc_se"]).all(),
              "linear_transformer(2): the L-step GD reference is missing")
        check(df.loc[df["model"] != "linear_transformer(2)", "risk_gd_steps_mc"].isna().all(),
              "an L-step GD reference on a model that is not linear_transformer(L)")
        check((lt.groupby(["spectrum", "m_test", "shift"], observed=True)["risk_gd_steps_mc"].nunique() == 1).all(),
              "the L-step GD reference depends on the training run")
        # Paired evaluation: every model and hyperparameter at a grid point sees the same prompts.
        keys = ["spectrum", "m_test", "shift"]
        for column in BASELINES:
            spread = df.groupby(keys, observed=True)[column].agg(lambda v: len(set(np.asarray(v).tobytes()[i:i + 8]
                                                                   for i in range(0, 8 * len(v), 8))))
            check((spread == 1).all(), f"{column} differs between models at one grid point")
        # Test prompts by test law: the predictors made from the prompt alone (the program's own
        # list) agree bitwise across training spectra where the shift brings its own covariance,
        # and differ where the test law is the training one.
        described = json.loads(subprocess.run([prog, "--describe-predictors"], capture_output=True, text=True,
                                              check=True).stdout)
        prompt_only = [c["name"] for p in described["predictors"] if p["source"] == "prompt" for c in p["columns"]]
        check({"risk_ols_mc", "risk_knn_mc", "risk_zero"} <= set(prompt_only), f"prompt-only columns {prompt_only}")
        own = df[df["shift"].str.startswith("covariate_random") | (df["shift"] == "covariate_isotropic")]
        check(set(own["spectrum"]) == {"isotropic", "random_exp"} and len(own) == len(df) * 6 // 10, "own-law rows")
        for column in prompt_only:
            spread = own.groupby(["d", "m_test", "shift", "ridge_lambda"], observed=True)[column].agg(
                lambda v: len(set(np.asarray(v).tobytes()[i:i + 8] for i in range(0, 8 * len(v), 8))))
            check((spread == 1).all(), f"{column} differs between training spectra at one test law")
        none = df[df["shift"] == "none"].groupby("spectrum", observed=True)["risk_knn_mc"].first()
        check(none["isotropic"] != none["random_exp"], "shift none: the two training laws' prompts are the same")
        flow = df[df["model"] == "flow"]
        check(np.array_equal(flow["risk_model_theory"], flow["risk_a_eff_theory"], equal_nan=True), "flow: A_eff is A")

        # The model figures draw from such a file.
        for kind in ("--paper", "--training", "--depth"):
            png = os.path.join(tmp, kind[2:] + ".png")
            r = subprocess.run([sys.executable, "-m", "icl_sweep", "models", one, png, kind], capture_output=True,
                               text=True, env=dict(os.environ, PYTHONPATH=args.repository))
            check(r.returncode == 0 and os.path.getsize(png) > 10000, f"model_figures {kind}: {r.returncode} {r.stderr[-500:]}")

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
        check(same_columns(result_columns(resumed, trajectories=True), result_columns(one, trajectories=True)), "stopped and resumed sweep differs from the clean run")
        # A long GPT-2 run killed (SIGKILL) in the middle of its training continues from its last
        # checkpoint and ends bitwise as an uninterrupted run.
        long_cfg = os.path.join(tmp, "long.ini")
        with open(long_cfg, "w") as f:
            f.write(LONG_CONFIG)
        clean, killed = os.path.join(tmp, "long_clean.h5"), os.path.join(tmp, "long_killed.h5")
        r = run_sweep(prog, ["--config", long_cfg, "--output", clean, "--progress", "0"])
        check(r.returncode == 0, f"long run: exit {r.returncode} {r.stderr}")
        proc = subprocess.Popen([prog, "--config", long_cfg, "--output", killed, "--progress", "0"], env=env,
                                stderr=subprocess.DEVNULL)
        checkpoint = killed + ".checkpoints/run-0"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and not os.path.exists(checkpoint):
            time.sleep(0.02)
        time.sleep(0.7)  # another checkpoint or two
        proc.kill()
        proc.wait()
        check(proc.returncode == -signal.SIGKILL, f"the long run ended before the kill: {proc.returncode}")
        # Spelt otherwise (./ inside the path), the output is the same sweep and its checkpoints too.
        r = run_sweep(prog, ["--resume", os.path.join(os.path.dirname(killed), ".", os.path.basename(killed)),
                             "--progress", "0"])
        check(r.returncode == 0, f"resume after the kill: exit {r.returncode} {r.stderr}")
        check("continued from its checkpoint at step" in r.stderr, f"the resume did not use the checkpoint: {r.stderr!r}")
        check(same_columns(result_columns(killed, trajectories=True), result_columns(clean, trajectories=True)),
              "killed in training and resumed differs from the uninterrupted run")
        check(not os.path.exists(killed + ".checkpoints"), "checkpoints left after the sweep completed")
        print("killed in training, resumed:", [l for l in r.stderr.splitlines() if "checkpoint" in l])

        # A checkpoint directory that cannot be used. A checkpoint is an optimisation: when it cannot
        # be written (the name taken by a file, a run's name by a directory, a full disk), it is
        # said once and training goes on; the rows are the clean run's, never `failed`. What
        # icl-sweep did not write there is never removed: a fresh start over it is refused (exit 2,
        # nothing written) without --force, and with --force only icl-sweep's own files go.
        reference = result_columns(clean, trajectories=True)
        said = "training goes on without checkpoints"

        def sweep(out, extra=(), limit_kib=None):
            limit = None
            if limit_kib:
                def limit():
                    resource.setrlimit(resource.RLIMIT_FSIZE, (limit_kib * 1024, limit_kib * 1024))
            return subprocess.run([prog, "--config", long_cfg, "--output", out, "--progress", "0", *extra], env=env,
                                  capture_output=True, text=True, timeout=600, preexec_fn=limit)

        def untouched(out):
            return not os.path.exists(out) and not os.path.exists(out + ".journal")

        blocked = os.path.join(tmp, "blocked.h5")
        with open(blocked + ".checkpoints", "w") as f:
            f.write("the user's notes\n")
        r = sweep(blocked)
        check(r.returncode == 2 and "icl-sweep did not write" in r.stderr and untouched(blocked),
              f"a file named .checkpoints, no --force: exit {r.returncode} {r.stderr[-300:]!r}")
        r = sweep(blocked, ["--force"])
        check(r.returncode == 0 and r.stderr.count(said) == 1, f"a file named .checkpoints, --force: exit {r.returncode} "
              f"{r.stderr[-500:]!r}")
        check(same_columns(result_columns(blocked, trajectories=True), reference), "a file named .checkpoints: not the clean run")
        check(open(blocked + ".checkpoints").read() == "the user's notes\n", "the user's .checkpoints file changed")

        strays = os.path.join(tmp, "strays.h5")
        os.makedirs(os.path.join(strays + ".checkpoints", "run-0"))    # in the way of run 0's checkpoint
        with open(os.path.join(strays + ".checkpoints", "run-0", "keep"), "w") as f:
            f.write("keep")
        with open(os.path.join(strays + ".checkpoints", "run-1"), "w") as f:  # a user's file, named as ours
            f.write("mine")
        with open(os.path.join(strays + ".checkpoints", "run-7"), "wb") as f:  # one icl-sweep left (its magic)
            f.write(b"ICLCKPT1" + bytes(40))
        r = sweep(strays)
        check(r.returncode == 2 and "and 1 more" in r.stderr and untouched(strays)
              and os.path.exists(os.path.join(strays + ".checkpoints", "run-7")),
              f"strays, no --force: exit {r.returncode} {r.stderr[-300:]!r}")
        r = sweep(strays, ["--force"])
        left = sorted(os.listdir(strays + ".checkpoints"))
        check(r.returncode == 0 and r.stderr.count(said) == 1 and left == ["run-0", "run-1"]
              and open(os.path.join(strays + ".checkpoints", "run-1")).read() == "mine",
              f"strays, --force: exit {r.returncode}, left {left}, {r.stderr[-500:]!r}")
        check(same_columns(result_columns(strays, trajectories=True), reference), "strays: not the clean run")

        # The disk full for checkpoints alone: ulimit -f 64 KiB, below a checkpoint (138 KB), above
        # the journal and the results file.
        full = os.path.join(tmp, "full.h5")
        r = sweep(full, limit_kib=64)
        check(r.returncode == 0 and r.stderr.count(said) == 1 and "File too large" in r.stderr,
              f"ulimit -f 64: exit {r.returncode} {r.stderr[-500:]!r}")
        check(same_columns(result_columns(full, trajectories=True), reference), "ulimit -f 64: not the clean run")
        check(not os.path.exists(full + ".checkpoints"), "ulimit -f 64: the checkpoint directory was left")
        print("unusable checkpoint directory: refused without --force; with it, or with a full disk, said once, "
              "the clean run's rows, nothing of the user's removed")
    return finish("models")


if __name__ == "__main__":
    sys.exit(main())
