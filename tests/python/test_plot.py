"""python3 -m icl_sweep plot: the README's question (error against c) from one sweep, the options,
and refusals that name the key instead of a traceback."""
import subprocess
import sys

import numpy as np
import pytest

import icl_sweep.plot as plot
from conftest import ROOT, SMALL, run_sweep

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
    # A point is the mean of its rows (two replicates), the band their 95% t interval (t_{0.975,1}
    # = 12.7062047), the error bar the Monte-Carlo standard error of the mean.
    df = icl_sweep_rows(question)
    one = df[(df["n_train"] == 6) & (df["m_equals_n"]) & (df["shift"] == "covariate_scale(2)")]
    point = stats[(stats["n_train"] == 6) & (stats["shift_param"] == 2.0) & (stats["predictor"] == "ridge")].iloc[0]
    assert point["mean"] == pytest.approx(one["risk_ridge_mc_norm"].mean(), rel=1e-12)
    half = 12.706204736174707 * one["risk_ridge_mc_norm"].std() / 2 ** 0.5
    assert point["ci_high"] - point["mean"] == pytest.approx(half, rel=1e-12)
    se = one["risk_ridge_mc_se"] / one["risk_zero"]
    assert point["se"] == pytest.approx(se.mean(), rel=1e-12)
    assert "band: 95% t interval across training replicates" in r.stdout


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
    (["--x", "d", "--columns", "0"], "--columns 0: at least 1"),
])
def test_refusals_name_the_key(question, tmp_path, args, words):
    r = cli(question, *args, "--out", str(tmp_path / "x.png"))
    assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_the_papers_layout(question, tmp_path):
    """`--hue n_train,predictor`: a curve per (N, predictor), N in numeric order (6 before 10),
    coloured by N and styled by predictor; y = error / d."""
    r = cli(question, "--x", "m_test", "--hue", "n_train,predictor", "--facet", "shift", "--fix", "shift_name=covariate_scale",
            "--metric", "error_per_d", "--predictors", "model,ols", "--out", str(tmp_path / "paper.png"))
    assert r.returncode == 0 and (tmp_path / "paper.png").stat().st_size > 10000, r.stderr
    stats, _ = plot.plot(question, "m_test", "n_train,predictor", "shift", ["shift_name=covariate_scale"],
                         metric="error_per_d", predictors=["model", "ols"], out=str(tmp_path / "again.png"))
    assert list(stats["n_train,predictor"].cat.categories) == [
        "N = 6, trained model", "N = 6, OLS (min-norm)", "N = 10, trained model", "N = 10, OLS (min-norm)"]
    df = icl_sweep_rows(question)
    rows = df[(df["n_train"] == 10) & (df["m_test"] == 3) & (df["shift"] == "covariate_scale(1.5)")]
    point = stats[(stats["n_train,predictor"] == "N = 10, OLS (min-norm)") & (stats["m_test"] == 3)
                  & (stats["shift"] == "covariate_scale(1.5)")].iloc[0]
    assert point["mean"] == pytest.approx((rows["risk_ols_mc"] / rows["d"]).mean(), rel=1e-12)
    long = plot.long_form(df, ["model", "ols"], "r_over_r0")
    styles = plot.combine_hue(long, "n_train,predictor")
    assert styles == {"N = 6, trained model": (0, 0), "N = 6, OLS (min-norm)": (0, 1),
                      "N = 10, trained model": (1, 0), "N = 10, OLS (min-norm)": (1, 1)}


def test_the_log_axis_floor_is_a_decade_below_the_smallest_real_value():
    # least squares interpolating noiseless prompts: 0 or ~1e-31, zero to rounding
    assert plot.floor_of([0.0, 1e-31, 0.05, 3.0]) == pytest.approx(1e-3)
    assert plot.floor_of([2.0, 40.0]) == pytest.approx(0.1)
    assert plot.floor_of([0.0, float("nan")]) is None


@pytest.mark.parametrize("shift, title", [("covariate_random(4)", "test covariance 4·diag(Exp(1))"),
                                          ("covariate_random(1)", "test covariance diag(Exp(1))"),
                                          ("covariate_isotropic", "test covariance I")])
def test_panel_titles_in_the_papers_words(shift, title):
    assert plot.facet_title("shift", shift, "test condition") == title
    assert plot.facet_title("n_train", 40, "N (training prompt length)") == "N = 40"


def test_a_combined_hue_with_an_undefined_part_leaves_those_rows_out(question, tmp_path):
    """shift_param is undefined for `none`: no curve, said in the statement, no traceback."""
    r = cli(question, "--x", "m_test", "--hue", "shift_param,predictor", "--predictors", "model",
            "--out", str(tmp_path / "h.png"))
    assert r.returncode == 0 and "left out: " in r.stdout and "is undefined (none)" in r.stdout, r.stdout + r.stderr
    stats, _ = plot.plot(question, "m_test", "shift_param,predictor", None, predictors=["model"],
                         out=str(tmp_path / "again.png"))
    assert list(stats["shift_param,predictor"].cat.categories) == [
        f"c = {c:g}, trained model" for c in (0.5, 1.0, 1.5, 2.0)]



def test_ridge_lambda_is_never_averaged(tmp_path):
    """With several ridge λ, each is its own predictor, and every other predictor (the same prompts,
    the same value at every λ) is taken once: its points are the means of the replicates alone."""
    path = run_sweep(QUESTION + "ridge_lambda = 0.1, 1\n", str(tmp_path / "lambdas.h5"))
    stats, statement = plot.plot(path, "shift_param", "predictor", "n_train", ["m_test=n", "shift_name=covariate_scale"],
                                 out=str(tmp_path / "l.png"))
    assert list(stats["predictor"].cat.categories) == ["trained model", "OLS (min-norm)", "ridge (λ = 0.1)",
                                                       "ridge (λ = 1)"]
    assert (stats["n"] == 2).all(), stats["n"].unique()  # two replicates, never two copies
    assert "ridge_lambda" not in statement and "averaged over init_seed (2 values)" in statement
    import icl_sweep
    df = icl_sweep.load(path)
    one = df[(df["n_train"] == 6) & df["m_equals_n"] & (df["shift"] == "covariate_scale(2)") & (df["ridge_lambda"] == 1)]
    point = stats[(stats["n_train"] == 6) & (stats["shift_param"] == 2.0) & (stats["predictor"] == "ridge (λ = 1)")]
    assert point["mean"].iloc[0] == pytest.approx(one["risk_ridge_mc_norm"].mean(), rel=1e-12)


def test_shift_facets_start_with_none_and_numeric_hues_use_a_sequential_map():
    """`--facet shift` puts `none` (no shift) first; a numeric hue with more values than the palette
    gives each its own colour, in order along a sequential map (d = 2 and d = 18 never share one)."""
    import matplotlib.colors as mcolors
    import pandas as pd
    rows = [{"shift": s, "d": d, "m_test": m, "mean": 0.1 * d + m, "ci_low": float("nan"), "ci_high": float("nan"),
             "se": 0.0, "n": 1, "unconverged": 0}
            for s in ("covariate_scale(2)", "label_noise(0.5)", "none") for d in range(2, 22, 2) for m in (5, 10)]
    stats = pd.DataFrame(rows)
    labels = {"m_test": "M", "d": "d", "shift": "test condition"}
    fig = plot.draw(stats, "m_test", "d", "shift", "error", "", labels)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert titles[0] == "no shift", titles
    handles, names = fig.axes[0].get_legend_handles_labels()  # one errorbar container a curve
    colours = [mcolors.to_hex(handle.lines[0].get_color()) for handle in handles]
    assert names == [str(d) for d in range(2, 22, 2)] and len(set(colours)) == 10, (names, colours)


def test_one_setting_per_evaluation_keeps_files_with_other_settings():
    """at_one_setting takes each evaluation (file, run, M, shift) at its own smallest λ and k: a file
    that swept other values than another keeps its rows (a smallest value over all files would drop
    them); `keep` leaves an axis whole."""
    import pandas as pd
    rows = pd.DataFrame({"file": ["a"] * 4 + ["b"] * 2, "train_id": 0, "m_test": 5, "shift": ["none", "none", "c", "c"] + ["none"] * 2,
                         "ridge_lambda": [0.1, 1, 0.1, 1, 0.5, 2], "knn_k": [1, 1, 5, 5, 3, 3]})
    rows = pd.concat([rows, rows.assign(knn_k=rows["knn_k"] + 10)], ignore_index=True)
    kept = plot.at_one_setting(rows)
    assert list(zip(kept["file"], kept["shift"], kept["ridge_lambda"], kept["knn_k"])) == [
        ("a", "none", 0.1, 1), ("a", "c", 0.1, 5), ("b", "none", 0.5, 3)]
    kept = plot.at_one_setting(rows, keep="knn_k")
    assert sorted(zip(kept["file"], kept["knn_k"])) == [("a", 1), ("a", 5), ("a", 11), ("a", 15), ("b", 3), ("b", 13)]
    assert set(kept["ridge_lambda"]) == {0.1, 0.5}
    assert len(plot.at_one_setting(rows, keep=["ridge_lambda", "knn_k"])) == len(rows)


OWN = SMALL.replace("mc_prompts = 200", "mc_prompts = 200\nridge_lambda = 0.1, 1\nknn_k = 1, 5")


@pytest.fixture(scope="module")
def own_settings(tmp_path_factory):
    return run_sweep(OWN, str(tmp_path_factory.mktemp("own") / "own.h5"))


def test_a_predictors_own_setting_is_never_averaged(own_settings, tmp_path):
    """ridge's λ and k-NN's k (OWN_SETTINGS): each value its own predictor, `k-NN (k = 5)`, never a
    plain `ridge` or `k-NN`; every other predictor (the same prompts: the same value at every λ and
    k) taken at one (λ, k), its rows there counted once, not four times."""
    import icl_sweep
    import icl_sweep.analyze as analyze
    ols, ridge, knn = (plot.PREDICTORS[p][2] for p in ("ols", "ridge", "knn"))
    per = [f"{ridge} (λ = 0.1)", f"{ridge} (λ = 1)", f"{knn} (k = 1)", f"{knn} (k = 5)"]
    df = icl_sweep.load(own_settings)
    # The premise: the rows at the other (λ, k) are copies for every predictor but the setting's own.
    evaluation = df.groupby(["train_id", "m_test", "shift"], observed=True)
    for column in ("risk_model_mc", "risk_ols_mc", "risk_zero"):
        assert (evaluation[column].nunique() == 1).all(), column
    assert (evaluation["risk_knn_mc"].nunique() == 2).all() and (evaluation["risk_ridge_mc"].nunique() == 2).all()
    stats, statement = plot.plot(own_settings, "m_test", "predictor", None, ["shift=none"],
                                 predictors=("model", "ols", "ridge", "knn"), out=str(tmp_path / "own.png"))
    assert list(stats["predictor"].cat.categories) == ["trained model", ols] + per
    assert not {ridge, knn} & set(stats["predictor"].astype(str))
    assert (stats["n"] == 2).all(), stats[["predictor", "m_test", "n"]]  # d = 3, 4: never 8 (4 copies each)
    assert "ridge_lambda" not in statement and "knn_k" not in statement and "averaged over d (2 values)" in statement
    at_one = df[(df["shift"] == "none") & (df["ridge_lambda"] == 0.1) & (df["knn_k"] == 1)]
    for m, rows in at_one.groupby("m_test"):
        point = stats[(stats["predictor"] == ols) & (stats["m_test"] == m)].iloc[0]
        assert point["n"] == len(rows) == 2
        assert point["mean"] == pytest.approx(rows["risk_ols_mc_norm"].mean(), rel=1e-12)
        assert point["se"] == pytest.approx((rows["risk_ols_mc_se"] / rows["risk_zero"]).mean(), rel=1e-12)
        half = 12.706204736174707 * rows["risk_ols_mc_norm"].std() / 2 ** 0.5  # t_{0.975,1}: two rows
        assert point["ci_high"] - point["mean"] == pytest.approx(half, rel=1e-9)
    for k in (1, 5):  # k-NN at each k: its rows at that k and one λ
        rows = df[(df["shift"] == "none") & (df["knn_k"] == k) & (df["ridge_lambda"] == 0.1)]
        points = stats[stats["predictor"] == f"{knn} (k = {k})"].set_index("m_test")["mean"]
        np.testing.assert_allclose(points.to_numpy(), rows.groupby("m_test")["risk_knn_mc_norm"].mean().to_numpy(), rtol=1e-12)
    for lam in (0.1, 1.0):  # ridge at each λ: its rows at that λ and one k
        rows = df[(df["shift"] == "none") & (df["ridge_lambda"] == lam) & (df["knn_k"] == 1)]
        points = stats[stats["predictor"] == f"{ridge} (λ = {lam:g})"].set_index("m_test")
        assert (points["n"] == 2).all()
        np.testing.assert_allclose(points["mean"].to_numpy(), rows.groupby("m_test")["risk_ridge_mc_norm"].mean().to_numpy(),
                                   rtol=1e-12)
    # analyze: the curves of a panel and the columns of a robustness panel follow the same rules.
    panel = analyze.load([own_settings])
    panel = panel[panel["shift"] == "none"]
    drawn = {column: analyze.curves(panel, column, label) for column, label, _, _ in analyze.PREDICTORS}
    assert [text for text, _, _ in drawn["risk_knn_mc"]] == per[2:]
    assert [text for text, _, _ in drawn["risk_ridge_mc"]] == per[:2]
    (text, rows, _), = drawn["risk_ols_mc"]
    assert text == ols and len(rows) == len(df[(df["shift"] == "none") & (df["ridge_lambda"] == 0.1) & (df["knn_k"] == 1)])
    assert set(rows["ridge_lambda"]) == {0.1} and set(rows["knn_k"]) == {1}
    assert all(set(rows["ridge_lambda"]) == {0.1} for _, rows, _ in drawn["risk_knn_mc"])
    assert all(set(rows["knn_k"]) == {1} for _, rows, _ in drawn["risk_ridge_mc"])
    columns = [label for label, _, _ in analyze.panel_columns(panel)]
    assert set(per) <= set(columns) and not {ridge, knn} & set(columns) and ols in columns, columns
    assert plot.pooled(df, ["m_test", "shift", "d"]) == {}  # never λ or k


def test_pooled_names_the_axes_a_point_averages_with_their_values():
    """Axes varying within a point with their values; never ridge_lambda or knn_k; lr and steps among sampled
    models' rows alone (the flow ignores them); a long list shortened to its ends and count."""
    import pandas as pd
    rows = pd.DataFrame({"m_test": [5, 5, 5, 5], "d": [10, 20, 10, 20], "sigma": [0.0, 0.1, 0.1, 0.0],
                         "ridge_lambda": [0.1, 1, 0.1, 1], "knn_k": [1, 1, 5, 5], "model": ["flow", "flow", "lsa", "lsa"],
                         "lr": [0.001, 0.01, 0.001, 0.001], "steps": 100})
    assert plot.over_text(plot.pooled(rows, ["m_test", "model"])) == "mean over d = 10, 20; sigma = 0, 0.1"
    assert plot.over_text(plot.pooled(rows, ["m_test"])).endswith("; model = flow, lsa")
    assert plot.over_text(plot.pooled(rows, ["m_test", "d", "sigma"])) == ""
    seeds = pd.DataFrame({"m_test": 5, "init_seed": range(20)})
    assert plot.over_text(plot.pooled(seeds, ["m_test"]), "pooled over") == "pooled over init_seed = 0, 1, …, 19 (20 values)"


def test_pooled_says_when_each_point_holds_other_values():
    """A cell of N that pools M with m_test = n holds its own M, not every M of the frame: the
    statement says how many each holds and that they differ (a checker found 'm_test = 10, ..., 200'
    where each cell held 5 or 6 of them)."""
    import pandas as pd
    rows = pd.DataFrame({"n_train": [10, 10, 10, 20, 20, 20, 20], "m_test": [10, 20, 30, 20, 30, 40, 20], "d": 3})
    got = plot.pooled(rows, ["n_train"])
    assert isinstance(got["m_test"], plot.Varying) and (got["m_test"].fewest, got["m_test"].most) == (3, 3)
    assert plot.over_text(got) == "mean over m_test (3 values each, not the same ones, among 10, 20, 30, 40)"
    same = rows[rows["m_test"].isin([20, 30])]
    assert plot.over_text(plot.pooled(same, ["n_train"])) == "mean over m_test = 20, 30"
