"""python3 -m icl_sweep analyze, models and demo-table: the command-line analysis of the package,
on one file and on several, and the entry point's refusals."""
import csv
import subprocess
import sys

import pytest

from conftest import ROOT, SMALL, run_sweep
from icl_sweep import analyze


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
    r = cli("analyze", small_file, other, str(out), "--phase", "d", "n_train")
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
        r = cli("analyze", small_file, str(out), "--phase", "d", "sigma", *args)
        assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
    for files, words in (([str(tmp_path / "missing.h5")], "no such file"), ([str(not_hdf5)], "cannot be read as an HDF5 results file"),
                         ([small_file, small_file], "the output folder, not a file")):  # OUTDIR forgotten
        r = cli("analyze", *files, str(out) if words != "the output folder, not a file" else files[-1])
        assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not out.exists()


def test_fix_applies_to_every_output_and_copies_count_once(small_file, tmp_path):
    out = tmp_path / "fixed"
    r = cli("analyze", small_file, small_file, str(out), "--fix", "d=3", "--fix", "m_test=n")
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
    r = cli("models", small_file, str(tmp_path / "t.png"), "--training")
    assert r.returncode == 0 and (tmp_path / "t.png").stat().st_size > 10000, r.stderr
    r = cli("models", small_file, str(tmp_path / "d.png"), "--depth")
    assert r.returncode == 2 and "no linear_transformer(L) models" in r.stderr
