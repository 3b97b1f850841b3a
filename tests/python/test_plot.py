"""python3 -m icl_sweep plot: the README's question (error against c) from one sweep, the options,
and refusals that name the key instead of a traceback."""
import subprocess
import sys

import pytest

import icl_sweep.plot as plot
from conftest import ROOT, run_sweep

QUESTION = """[sweep]
name = question
[grid]
d = 4
n_train = 6, 10
init_seed = 0:1:1
[eval]
m_test = n, 3
shift = none, covariate_scale(0.5:2:0.5)
mc_prompts = 300
"""


@pytest.fixture(scope="module")
def question(tmp_path_factory):
    return run_sweep(QUESTION, str(tmp_path_factory.mktemp("question") / "question.h5"))


def cli(*args):
    return subprocess.run([sys.executable, "-m", "icl_sweep", "plot", *args], capture_output=True, text=True, cwd=ROOT)


def test_error_against_the_shift_parameter(question, tmp_path):
    out = tmp_path / "c.png"
    r = cli(question, "--x", "shift_param", "--facet", "n_train", "--fix", "m_test=n",
            "--fix", "shift_name=covariate_scale", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "averaged over init_seed (2 values)" in r.stdout and out.stat().st_size > 10000
    stats, _ = plot.plot(question, "shift_param", "predictor", "n_train", ["m_test=n", "shift_name=covariate_scale"],
                         out=str(tmp_path / "again.png"))
    assert sorted(stats["shift_param"].unique()) == [0.5, 1.0, 1.5, 2.0]
    assert set(stats["n_train"]) == {6, 10} and (stats["n"] == 2).all()
    assert list(stats["predictor"].cat.categories) == ["trained model", "OLS (min-norm)", "ridge"]
    # A point is the mean of its rows, the error bar their spread over sqrt(count).
    df = icl_sweep_rows(question)
    one = df[(df["n_train"] == 6) & (df["m_equals_n"]) & (df["shift"] == "covariate_scale(2)")]
    point = stats[(stats["n_train"] == 6) & (stats["shift_param"] == 2.0) & (stats["predictor"] == "ridge")].iloc[0]
    assert point["mean"] == pytest.approx(one["risk_ridge_mc_norm"].mean(), rel=1e-12)
    assert point["se"] == pytest.approx(one["risk_ridge_mc_norm"].std() / 2 ** 0.5, rel=1e-12)


def icl_sweep_rows(path):
    import icl_sweep
    return icl_sweep.load(path)


def test_rows_without_the_parameter_are_left_out_and_said(question, tmp_path):
    r = cli(question, "--x", "shift_param", "--out", str(tmp_path / "p.png"))
    assert r.returncode == 0 and "left out: 24 values of rows where shift_param is undefined (none)" in r.stdout, r.stdout
    r = cli(question, "--x", "shift_param", "--fix", "shift=none", "--out", str(tmp_path / "q.png"))
    assert r.returncode == 2 and "shift_param is not defined for these rows" in r.stderr, r.stderr


def test_metrics_and_keys(question, tmp_path):
    for metric in ("error", "error_per_d"):
        r = cli(question, "--x", "m_test", "--hue", "predictor", "--facet", "shift", "--metric", metric,
                "--predictors", "model,model_theory,gd,avg", "--out", str(tmp_path / f"{metric}.png"))
        assert r.returncode == 0, r.stderr
    r = cli(question, "--x", "n_train", "--hue", "shift", "--predictors", "ols", "--out", str(tmp_path / "h.png"))
    assert r.returncode == 0 and "averaged over" in r.stdout, r.stderr


@pytest.mark.parametrize("args, words", [
    (["--x", "nonsense"], "no column 'nonsense'"),
    (["--x", "d", "--fix", "m_test=7"], "no row has m_test = 7"),
    (["--x", "d", "--fix", "warp=1"], "no column 'warp'"),
    (["--x", "d", "--fix", "d=x"], "is not a number"),
    (["--x", "d", "--hue", "n_train"], "none of --x, --hue, --facet is `predictor`"),
    (["--x", "d", "--predictors", "oracle"], "unknown 'oracle'"),
])
def test_refusals_name_the_key(question, tmp_path, args, words):
    r = cli(question, *args, "--out", str(tmp_path / "x.png"))
    assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr, r.stderr
