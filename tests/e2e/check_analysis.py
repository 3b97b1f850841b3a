"""End-to-end: `python3 -m icl_sweep analyze` turns a small results file into non-empty PNG figures
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
    p.add_argument("--repository", required=True)
    args = p.parse_args()
    analyze = [sys.executable, "-m", "icl_sweep", "analyze"]
    env = dict(os.environ, PYTHONPATH=args.repository)  # this checkout's package, whatever is installed
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "small.h5")
        r = run_sweep(args.program, ["--config", args.config, "--output", out, "--progress", "0"])
        check(r.returncode == 0, f"sweep: exit {r.returncode} {r.stderr}")
        figures = os.path.join(tmp, "figures")
        r = subprocess.run(analyze + [out, figures, "--phase", "d", "sigma",
                            "--phase", "shift", "spectrum", "--metric", "lsa_norm"],
                           capture_output=True, text=True, timeout=600, env=env)
        check(r.returncode == 0, f"analysis: exit {r.returncode} {r.stderr[-2000:]}")
        with open(os.path.join(figures, "summary.csv")) as f:
            rows = list(csv.DictReader(f))
        # small.ini: 3 spectra x 7 shifts (covariate_scale(0.5, 2) expands into two) x 2 d x 2 M: the
        # summary averages over seeds and sigma only, never over the sizes.
        check(len(rows) == 84, f"summary.csv has {len(rows)} rows, expected 84")
        check({r["spectrum"] for r in rows} == {"isotropic", "power(1)", "random_exp"}, "summary spectra")
        check(all(r["converged"] == "1.000" for r in rows), "summary: not every run converged")
        none_iso = [r for r in rows if r["spectrum"] == "isotropic" and r["shift"] == "none" and r["d"] == "3"
                    and r["m_test"] == "8"]
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
        # The crash cases of the workflow issue: the config's spelling m_test=n, and a phase over a
        # shift's parameter (rows without one are left out, not drawn as blank columns).
        r = subprocess.run(analyze + [out, figures, "--no-curves", "--phase", "shift_param", "d",
                            "--fix", "m_test=n"], capture_output=True, text=True, timeout=600, env=env)
        check(r.returncode == 0 and os.path.getsize(os.path.join(figures, "phase_shift_param_d.png")) > 5000,
              f"--phase shift_param d --fix m_test=n: exit {r.returncode} {r.stderr[-1500:]}")
        for bad, words in ((["--fix", "m_test=x"], "not a number"), (["--fix", "d=99"], "no row has d = 99"),
                           (["--fix", "m_test"], "expected KEY=VALUE"), (["--panel", "999"], "no rows with m_test")):
            r = subprocess.run(analyze + [out, figures, "--no-curves", "--phase", "d", "sigma"] + bad,
                               capture_output=True, text=True, timeout=600, env=env)
            check(r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr,
                  f"{bad}: exit {r.returncode} {r.stderr[-500:]}")
    return finish("analysis")


if __name__ == "__main__":
    sys.exit(main())
