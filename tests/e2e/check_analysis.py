"""End-to-end: analysis/icl_analyze.py turns a small results file into non-empty PNG figures
and a summary CSV with one row per (training spectrum, shift)."""
import argparse
import csv
import os
import subprocess
import sys
import tempfile

from sweep_runner import check, finish, run_sweep


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--program", required=True)
    p.add_argument("--config", required=True)
    p.add_argument("--analysis", required=True)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "small.h5")
        r = run_sweep(args.program, ["--config", args.config, "--output", out, "--progress", "0"])
        check(r.returncode == 0, f"sweep: exit {r.returncode} {r.stderr}")
        figures = os.path.join(tmp, "figures")
        r = subprocess.run([sys.executable, args.analysis, out, figures, "--phase", "d", "sigma",
                            "--phase", "shift", "spectrum", "--metric", "lsa_norm"],
                           capture_output=True, text=True, timeout=600)
        check(r.returncode == 0, f"analysis: exit {r.returncode} {r.stderr[-2000:]}")
        with open(os.path.join(figures, "summary.csv")) as f:
            rows = list(csv.DictReader(f))
        # small.ini: 3 spectra x 7 shifts (covariate_scale(0.5, 2) expands into two).
        check(len(rows) == 21, f"summary.csv has {len(rows)} rows, expected 21")
        check({r["spectrum"] for r in rows} == {"isotropic", "power(1)", "random_exp"}, "summary spectra")
        check(all(r["converged"] == "1.000" for r in rows), "summary: not every run converged")
        none_iso = [r for r in rows if r["spectrum"] == "isotropic" and r["shift"] == "none"]
        check(len(none_iso) == 1 and 0 < float(none_iso[0]["model_theory_norm"]) < 1, "summary: isotropic none row")
        check("isotropic" in r.stdout and "covariate_scale(2)" in r.stdout, "summary not printed")
        expected = ["convergence.png", "phase_d_sigma.png", "phase_shift_spectrum.png", "error_vs_m_none.png",
                    "error_vs_m_covariate_scale_2.png", "error_vs_m_orthogonal_query.png"]
        for name in expected:
            path = os.path.join(figures, name)
            ok = os.path.exists(path) and os.path.getsize(path) > 5000
            check(ok, f"{name} missing or nearly empty")
            if ok:
                with open(path, "rb") as f:
                    check(f.read(8) == b"\x89PNG\r\n\x1a\n", f"{name} is not a PNG")
    return finish("analysis")


if __name__ == "__main__":
    sys.exit(main())
