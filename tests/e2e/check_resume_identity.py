"""End-to-end: a sweep's identity (config, input files' contents, program, schema) guards --resume:
an edited covariance file, a different key or override is refused with exit 2 naming it, on an
unfinished and on a complete file; `--resume OUTPUT` alone continues from the stored config and
ends equal to a clean run; the file holds every declared column with its declared type; a grid of
10^10 rows is estimated at once."""
import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

from sweep_runner import result_columns, same_columns, MPI_ENV, check, finish, run_sweep

CONFIG = """[sweep]
name = identity
seed = 3
[grid]
d = 4
n_train = 8, 16
spectrum = file({cov}), isotropic
sigma = 0.01, 0.1
init_seed = 0:3:1
[train]
trajectory_points = 8
[eval]
m_test = n, 2
shift = none, covariate_scale(2), random_quadrants
mc_prompts = 20000
"""
NP_TYPES = {"u8": "u1", "i32": "i4", "i64": "i8", "u64": "u8", "f64": "f8"}


def columns(program):
    """(name, type) of every declared column, from --describe-columns."""
    out = subprocess.run([program, "--describe-columns"], capture_output=True, text=True, check=True).stdout
    rows = [line.split("|") for line in out.splitlines()[2:]]
    return [(r[1].strip().strip("`"), r[2].strip()) for r in rows]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--program", required=True)
    prog = p.parse_args().program
    with tempfile.TemporaryDirectory() as tmp:
        cov = os.path.join(tmp, "cov.txt")
        with open(cov, "w") as f:
            f.write("4 3 2 1\n")
        cfg = os.path.join(tmp, "identity.ini")
        with open(cfg, "w") as f:
            f.write(CONFIG.format(cov=cov))
        out = os.path.join(tmp, "out.h5")
        clean = os.path.join(tmp, "clean.h5")

        r = run_sweep(prog, ["--config", cfg, "--output", clean, "--progress", "0"])
        check(r.returncode == 0, f"clean run: exit {r.returncode} {r.stderr}")
        have = dict()
        with h5py.File(clean, "r") as f:
            dtype = f["results"].dtype
            have = {n: dtype.fields[n][0] for n in dtype.names}
            version = subprocess.run([prog, "--schema-version"], capture_output=True, text=True).stdout
            check(int(f.attrs["schema_version"]) == int(version), "schema_version attribute")
            check("cov.txt = fnv1a64:" in f.attrs["inputs"].decode(), f"inputs attribute {f.attrs['inputs']!r}")
        declared = columns(prog)
        check([n for n, _ in declared] == list(have), f"declared columns {declared} vs file {list(have)}")
        for name, kind in declared:
            t = have.get(name)
            if kind.startswith("enum"):  # a text column: numbers named by an HDF5 enumeration
                check(t is not None and h5py.check_enum_dtype(t) is not None, f"column {name}: file type {t}, declared {kind}")
                continue
            want = np.dtype(NP_TYPES[kind])
            check(t is not None and t == want, f"column {name}: file type {t}, declared {kind}")

        # An unfinished sweep: stopped by SIGINT once it has written part of its journal.
        env = dict(os.environ, **MPI_ENV)
        proc = subprocess.Popen([prog, "--config", cfg, "--output", out, "--progress", "0"], env=env,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not os.path.exists(out + ".journal")
                                               or os.path.getsize(out + ".journal") < 20000):
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
        check(proc.returncode == 3, f"SIGINT: exit {proc.returncode}")
        journal = open(out + ".journal", "rb").read()

        with open(cov, "w") as f:
            f.write("4 3 2 0.5\n")
        r = run_sweep(prog, ["--config", cfg, "--output", out, "--resume"])
        check(r.returncode == 2, f"edited covariance file: exit {r.returncode} {r.stderr}")
        check("input " + cov in r.stderr and "stored 'fnv1a64:" in r.stderr, f"edited file message {r.stderr!r}")
        check(open(out + ".journal", "rb").read() == journal, "a refused resume changed the journal")
        with open(cov, "w") as f:
            f.write("4 3 2 1\n")

        r = run_sweep(prog, ["--resume", out, "--eval.mc_prompts", "100"])
        check(r.returncode == 2 and "eval.mc_prompts: stored '20000', requested '100'" in r.stderr,
              f"override on resume: exit {r.returncode} {r.stderr!r}")
        r = run_sweep(prog, ["--resume", out, "--progress", "0"], ranks=2)
        check(r.returncode == 0, f"--resume OUTPUT without --config: exit {r.returncode} {r.stderr}")
        check(not os.path.exists(out + ".journal"), "the journal outlived a complete sweep")
        check(same_columns(result_columns(out), result_columns(clean)), "stopped and resumed sweep differs from the clean run")

        before = open(out, "rb").read()
        r = run_sweep(prog, ["--config", cfg, "--output", out, "--resume", "--eval.knn_k", "5"])
        check(r.returncode == 2 and "eval.knn_k: stored '3', requested '5'" in r.stderr,
              f"complete file, different config: exit {r.returncode} {r.stderr!r}")
        with open(cov, "w") as f:
            f.write("1 1 1 1\n")
        r = run_sweep(prog, ["--resume", out])
        check(r.returncode == 2 and "input " + cov in r.stderr,
              f"complete file, edited input: exit {r.returncode} {r.stderr!r}")
        with open(cov, "w") as f:
            f.write("4 3 2 1\n")
        r = run_sweep(prog, ["--resume", out])
        check(r.returncode == 0 and "already complete" in r.stderr, f"complete file: exit {r.returncode} {r.stderr!r}")
        check(open(out, "rb").read() == before, "resume of a complete file changed it")

        # 10^10 rows: estimated from the grid's values, not by visiting rows (minutes before).
        start = time.monotonic()
        r = run_sweep(prog, ["--config", cfg, "--dry-run", "--grid.n_train", "1:1000:1", "--grid.init_seed",
                             "0:9999:1", "--grid.spectrum", "isotropic", "--eval.m_test", "1:250:1",
                             "--eval.shift", "none, covariate_scale(2)"])
        seconds = time.monotonic() - start
        check(r.returncode == 0 and "rows: 10000000000" in r.stdout, f"dry run: {r.returncode} {r.stdout} {r.stderr}")
        check(seconds < 5, f"dry run of 1e10 rows took {seconds:.1f} s")
        print(f"dry run of 1e10 rows: {seconds:.2f} s")
    return finish("resume-identity")


if __name__ == "__main__":
    sys.exit(main())
