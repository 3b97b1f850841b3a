"""python3 -m icl_sweep analyze, models and demo-table: the command-line analysis of the package,
on one file and on several, and the entry point's refusals."""
import csv
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, SMALL, run_sweep
from icl_sweep import analyze

# SMALL with two initialisation scales and two ridge λ: every figure's point averages over sigma
# (and d where it is not kept apart), never over λ.
LAMBDAS = SMALL.replace("n_train = 6", "n_train = 6\nsigma = 0.5, 1").replace(
    "mc_prompts = 200", "mc_prompts = 200\nridge_lambda = 0.1, 1")


def cli(*args):
    return subprocess.run([sys.executable, "-m", "icl_sweep", *args], capture_output=True, text=True, cwd=ROOT)


def test_the_entry_point_lists_its_commands():
    r = cli()
    assert r.returncode == 2 and all(c in r.stderr for c in ("plot", "report", "analyze", "models", "demo-table"))
    r = cli("nonsense")
    assert r.returncode == 2 and "usage" in r.stderr


def test_analyze_reads_several_files_as_one(small_file, tmp_path):
    other = run_sweep(SMALL.replace("d = 3, 4", "d = 5"), str(tmp_path / "d5.h5"))
    out = tmp_path / "figures"
    r = cli("analyze", small_file, other, "--out", str(out), "--phase", "d", "n_train")
    assert r.returncode == 0, r.stderr
    with open(out / "summary.csv") as f:
        rows = list(csv.DictReader(f))
    # d = 3, 4 from one file and 5 from the other; M = n (6) and 3; three shifts; one run each.
    assert sorted({r["d"] for r in rows}) == ["3", "4", "5"] and len(rows) == 3 * 2 * 3
    assert all(r["runs"] == "1" and r["converged"] == "1.000" for r in rows)
    for name in ("convergence.png", "phase_d_n_train.png", "error_vs_m_none.png"):
        assert (out / name).stat().st_size > 5000, name


def test_analyze_refuses_before_writing(small_file, tmp_path):
    out = tmp_path / "never"
    not_hdf5 = tmp_path / "notes.h5"
    not_hdf5.write_text("not HDF5")
    for args, words in ((["--panel", "99"], "no rows with m_test = 99"), (["--fix", "d=x"], "not a number"),
                        (["--fix", "d=99"], "no row has d = 99"), (["--fix", "d"], "expected KEY=VALUE"),
                        (["--phase", "d", "warp"], "unknown axis warp"),
                        (["--phase", "shift_param", "d", "--fix", "shift=none"], "no row has both defined")):
        r = cli("analyze", small_file, "--out", str(out), "--phase", "d", "sigma", *args)
        assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
    for args, words in (([str(tmp_path / "missing.h5"), "--out", str(out)], "no such file"),
                        ([str(not_hdf5), "--out", str(out)], "cannot be read as an HDF5 results file"),
                        ([small_file, small_file], "no output folder: name it with --out DIR"),  # --out forgotten
                        ([small_file, "--out", small_file], "the output folder, not a file")):
        r = cli("analyze", *args)
        assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not out.exists()


def test_fix_applies_to_every_output_and_copies_count_once(small_file, tmp_path):
    out = tmp_path / "fixed"
    r = cli("analyze", small_file, small_file, "--out", str(out), "--fix", "d=3", "--fix", "m_test=n")
    assert r.returncode == 0, r.stderr
    assert "12 row(s) held by several files counted once" in r.stdout
    with open(out / "summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert {(r["d"], r["m_test"]) for r in rows} == {("3", "6")} and len(rows) == 3
    assert all(r["rows"] == "1" and r["runs"] == "1" for r in rows)


@pytest.mark.parametrize("spectra, says, not_says", [
    (["isotropic", "power(1)"], "A* = Γ⁻¹", "random"),
    (["random_exp"], "E[λ²] / E[γλ²]", "Γ⁻¹"),
    (["isotropic", "random_exp"], "E[λ²] / E[γλ²]", None)])
def test_the_convergence_title_names_the_right_limit(spectra, says, not_says):
    """A* is Γ⁻¹ only for a fixed training covariance."""
    text = analyze.limit_of(spectra)
    assert says in text and (not_says is None or not_says not in text)


def test_demo_table_and_models(small_file, tmp_path):
    r = cli("demo-table", small_file)
    assert r.returncode == 0 and "normalised error R/R0" in r.stdout and "covariate_scale(2)" in r.stdout, r.stderr
    assert "training: {'converged': 2}" in r.stdout, r.stdout
    r = cli("models", small_file, "--out", str(tmp_path / "t.png"), "--training")
    assert r.returncode == 0 and (tmp_path / "t.png").stat().st_size > 10000 and "deprecated" not in r.stderr, r.stderr
    r = cli("models", small_file, "--out", str(tmp_path / "d.png"), "--depth")
    assert r.returncode == 2 and "no linear_transformer(L) models" in r.stderr


def test_the_old_positional_output_still_works_with_a_deprecation_line(small_file, tmp_path):
    """One release of grace for `analyze FILES... OUTDIR` and `models FILES... OUT.png`: the output is
    written, and stderr names the new spelling."""
    r = cli("analyze", small_file, str(tmp_path / "old"), "--no-curves")
    assert r.returncode == 0 and (tmp_path / "old" / "summary.csv").exists(), r.stderr
    assert "deprecated" in r.stderr and f"use --out {tmp_path / 'old'}" in r.stderr, r.stderr
    r = cli("models", small_file, str(tmp_path / "t.png"), "--training")
    assert r.returncode == 0 and (tmp_path / "t.png").exists(), r.stderr
    assert "deprecated" in r.stderr and f"use --out {tmp_path / 't.png'}" in r.stderr, r.stderr
    r = cli("models", small_file, "--training")
    assert r.returncode == 2 and "no figure to write: name it with --out OUT.png" in r.stderr, r.stderr


def flat(text):
    """A title with its line breaks (wrapping) undone."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def lambdas_file(tmp_path_factory):
    return run_sweep(LAMBDAS, str(tmp_path_factory.mktemp("lambdas") / "lambdas.h5"))


@pytest.fixture
def drawn(monkeypatch):
    """The figures analyze draws, by file name, kept open."""
    figures = {}
    save = analyze.plt.Figure.savefig

    def keep(fig, path, *args, **kwargs):
        figures[path.rsplit("/", 1)[-1]] = fig
        return save(fig, path, *args, **kwargs)

    monkeypatch.setattr(analyze.plt.Figure, "savefig", keep)
    monkeypatch.setattr(analyze.plt, "close", lambda fig=None: None)
    return figures


def test_every_output_names_what_it_averages_and_never_averages_lambda(lambdas_file, tmp_path, drawn, capsys):
    """Printed lines and titles name each grid axis a point averages or a figure pools over, with its
    values; sigma and d here, never ridge_lambda, never lr and steps (the flow ignores them)."""
    out = tmp_path / "out"
    assert analyze.main([lambdas_file, "--out", str(out), "--phase", "d", "sigma", "--panel", "3"]) == 0
    lines = [line.split(": ", 1) for line in capsys.readouterr().out.splitlines()]
    said = {line[0]: line[1] for line in lines if line[0].endswith((".png", ".csv"))}
    assert said["summary.csv"] == ("one row per model, spectrum, shift, d, n_train, m_test, ridge_lambda, knn_k; "
                                   "mean over sigma = 0.5, 1")
    assert said["error_vs_m_none.png"] == "mean over d = 3, 4; sigma = 0.5, 1"
    assert said["phase_d_sigma.png"] == "mean over m_test = 3, 6; shift = covariate_scale(0.5), covariate_scale(2), none"
    assert said["panel_m3.png"] == "mean over d = 3, 4; sigma = 0.5, 1"
    assert said["convergence.png"] == "one line per training run; pooled over d = 3, 4"
    assert flat(drawn["error_vs_m_none.png"]._suptitle.get_text()).endswith("mean over d = 3, 4; sigma = 0.5, 1")
    assert "mean over m_test = 3, 6; shift = covariate_scale(0.5)" in flat(drawn["phase_d_sigma.png"].axes[0].get_title())
    assert flat(drawn["panel_m3.png"].axes[0].get_title()).endswith("mean over d = 3, 4; sigma = 0.5, 1")
    assert "pooled over d = 3, 4" in flat(drawn["convergence.png"]._suptitle.get_text())

    # Each λ is its own ridge curve; the other predictors once, at one λ alone (the same value at each).
    import icl_sweep
    df = icl_sweep.load(lambdas_file)
    ax = drawn["error_vs_m_none.png"].axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert {"ridge (λ = 0.1)", "ridge (λ = 1)", "OLS (min-norm)"} <= set(lines) and "ridge" not in lines, list(lines)
    for lam in (0.1, 1.0):
        rows = df[(df["shift"] == "none") & (df["ridge_lambda"] == lam)]
        expected = rows.groupby("m_test")["risk_ridge_mc_norm"].mean()
        np.testing.assert_allclose(lines[f"ridge (λ = {lam:g})"].get_ydata(), np.maximum(expected.to_numpy(), analyze.FLOOR))
    ticks = [t.get_text() for t in drawn["panel_m3.png"].axes[0].get_xticklabels()]
    assert "ridge (λ = 0.1)" in ticks and "ridge (λ = 1)" in ticks and "ridge" not in ticks, ticks
    # The phase diagram's cells sit at their values: d = 3, 4 and sigma = 0.5, 1, not at 0, 1.
    phase = drawn["phase_d_sigma.png"].axes[0]
    assert list(phase.get_xticks()) == [3, 4] and list(phase.get_yticks()) == [0.5, 1.0]


@pytest.mark.parametrize("values, log, edges", [
    ([0.5, 1.0, 4.0], False, [0.25, 0.75, 2.5, 5.5]),
    ([1.0, 10.0, 100.0], True, [10 ** -0.5, 10 ** 0.5, 10 ** 1.5, 10 ** 2.5]),
    ([3.0], False, [1.5, 4.5])])
def test_phase_cells_are_placed_by_value(values, log, edges):
    """A numeric axis puts each cell at its value, reaching half way to its neighbours (on a log scale
    where the values span a decade); a text axis one cell per value."""
    import pandas as pd
    rows = pd.DataFrame({"x": values, "name": [str(v) for v in values]})
    centres, found, is_log = analyze.placement("x", values, rows)
    assert is_log == log and list(centres) == values
    np.testing.assert_allclose(found, edges)
    centres, found, is_log = analyze.placement("name", list(rows["name"]), rows)
    assert list(centres) == list(range(len(values))) and not is_log
