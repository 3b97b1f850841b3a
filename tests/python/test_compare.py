"""python3 -m icl_sweep compare: sampled LSA layers trained on two spectra with four replicates each,
compared on shared test prompts; the printed and written intervals are recomputed here from the file
alone, the sign test by its definition."""
import math
import subprocess
import sys

import pandas as pd
import pytest

import icl_sweep
from conftest import ROOT, run_sweep
from icl_sweep.intervals import sign_test, t975

REPLICATES = """[sweep]
name = replicates
seed = 11
[grid]
d = 3
n_train = 6
spectrum = isotropic, random_exp
init_seed = 0:3:1
model = lsa
[train]
steps = 200
lr = 0.01
batch = 16
trajectory_points = 4
[eval]
m_test = n
shift = covariate_random(1, 4), covariate_isotropic, none
mc_prompts = 1000
knn_k = 0
"""


@pytest.fixture(scope="module")
def replicates(tmp_path_factory):
    return run_sweep(REPLICATES, str(tmp_path_factory.mktemp("replicates") / "replicates.h5"))


def cli(*args):
    return subprocess.run([sys.executable, "-m", "icl_sweep", "compare", *args], capture_output=True, text=True, cwd=ROOT)


def test_quantiles_are_students():
    # Known values of t_{0.975, df}; the large-df limit is the normal quantile.
    for df, t in ((1, 12.706204736174707), (2, 4.302652729749464), (3, 3.182446305284263),
                  (9, 2.262157162798205), (30, 2.042272456301238)):
        assert t975(df) == pytest.approx(t, rel=1e-13)
    assert t975(100000) == pytest.approx(1.959963984540054, rel=1e-4)
    assert sign_test([1, 2, 3, 4, 5]) == (5, 5, 0.0625) and sign_test([1, -1, 0, 2]) == (2, 3, 1.0)


def test_interval_is_recomputed_from_the_file(replicates, tmp_path):
    out = tmp_path / "compare.csv"
    r = cli(replicates, "--a", "spectrum=isotropic", "--b", "spectrum=random_exp", "--csv", str(out))
    assert r.returncode == 0, r.stderr
    table = pd.read_csv(out)
    assert len(table) == 4 and (table["replicates"] == 4).all()
    df = icl_sweep.load(replicates)
    df["r"] = df["risk_model_mc"] / df["risk_zero"]
    for _, row in table.iterrows():
        a = df[(df["spectrum"] == "isotropic") & (df["shift"] == row["shift"])].sort_values("init_seed")
        b = df[(df["spectrum"] == "random_exp") & (df["shift"] == row["shift"])].sort_values("init_seed")
        diff = a["r"].to_numpy() - b["r"].to_numpy()
        half = 3.182446305284263 * diff.std(ddof=1) / math.sqrt(4)
        assert row["diff"] == pytest.approx(diff.mean(), rel=1e-14)
        assert row["ci_low"] == pytest.approx(diff.mean() - half, rel=1e-12, abs=1e-15)
        assert row["ci_high"] == pytest.approx(diff.mean() + half, rel=1e-12, abs=1e-15)
        positive = int((diff > 0).sum())
        assert row["a_greater"] == positive and row["nonzero"] == 4
        assert row["sign_p"] == pytest.approx(min(1.0, 2 * sum(math.comb(4, i) for i in range(min(positive, 4 - positive) + 1)) / 16))
        se = (a["risk_model_mc_se"] / a["risk_zero"]).to_numpy() + (b["risk_model_mc_se"] / b["risk_zero"]).to_numpy()
        assert row["mc_bound"] == pytest.approx(se.mean(), rel=1e-12)
        widened = half + 1.96 * se.mean()
        shown = diff.mean() - widened > 0 or diff.mean() + widened < 0
        assert (row["verdict"] != "no difference shown") == shown
        assert row["verdict"] in r.stdout
    # Where the test law is the same for both (covariate_random, covariate_isotropic) the pairs saw
    # the same prompts: the baselines agree, so the difference is the models' alone.
    same_law = df[df["shift"] != "none"]
    spread = same_law.groupby(["shift", "init_seed"], observed=True)["risk_ols_mc"].nunique()
    assert (spread == 1).all()


def test_refusals_name_the_problem(replicates):
    for args, words in ((["--a", "spectrum=isotropic", "--b", "model=lsa"], "one key"),
                        (["--a", "spectrum=isotropic", "--b", "spectrum=power(1)"], "no row has spectrum = power(1)"),
                        (["--a", "shift=none", "--b", "shift=covariate_isotropic", "--predictor", "nope"], "unknown"),
                        (["--a", "risk_zero=1", "--b", "risk_zero=2"], "not a grid axis")):
        r = cli(replicates, *args)
        assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)


def test_summary_tables_carry_the_interval_across_replicates(replicates, tmp_path):
    """analyze's summary.csv gives the trained model's mean over the four replicates with the
    half-width of its 95% t interval, recomputed here from the file."""
    out = tmp_path / "analysis"
    r = subprocess.run([sys.executable, "-m", "icl_sweep", "analyze", replicates, str(out)], capture_output=True,
                       text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    summary = pd.read_csv(out / "summary.csv")
    df = icl_sweep.load(replicates)
    for _, row in summary.iterrows():
        rows = df[(df["spectrum"] == row["spectrum"]) & (df["shift"] == row["shift"])]
        values = rows["risk_model_mc"] / rows["risk_zero"]
        assert row["runs"] == 4 and len(values) == 4
        half = t975(3) * values.std(ddof=1) / 2.0
        assert math.isclose(row["model_mc_norm"], values.mean(), rel_tol=1e-5)
        assert math.isclose(row["model_mc_norm_ci95"], half, rel_tol=1e-5), (row["model_mc_norm_ci95"], half)
