"""The results file and the Python side at the scale of a large phase diagram (issue "Large phase
diagrams end to end", item 1): a closed-form sweep of 10^6 rows, then what a researcher does with it.

    /usr/bin/python3 bench/large_file.py [--build build] [--rows-scale 1.0] [--ranks 2] [--keep DIR]

The sweep: d = 2, 4, ..., 40 (20 values) x N = 10, 20, ..., 500 (50) x M = 10, 20, ..., 100 (10) x
covariate_scale(c) for 100 values of c, closed forms only (eval.mc_prompts = 0): 1,000,000 rows
(--rows-scale 0.2 takes 20 values of c). Measured, each in its own process (peak memory is its
maximum resident set, from wait4):
  - the sweep's wall time, and the file's size in bytes per row;
  - icl_sweep.load(path) and icl_sweep.load(path, columns=[...]) (time, peak memory of that process);
  - one `plot` fixed to a few thousand rows (--fix d=20 --fix m_test=50), and `analyze --phase`
    over two numeric axes (--fix d=20 --fix m_test=50), whole commands.
Prints a markdown table with the machine named. Timings are of one run each (a benchmark of
seconds-long commands; rerun to see their spread)."""
import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", PYTHONPATH=ROOT)


def config(scale):
    cs = [round(0.1 * k, 1) for k in range(1, 1 + int(round(100 * scale)))]
    return ("[sweep]\nname = large\nseed = 1\n[grid]\nd = 2:40:2\nn_train = 10:500:10\n[eval]\nm_test = 10:100:10\n"
            f"shift = covariate_scale({', '.join(map(str, cs))})\nmc_prompts = 0\n")


def measured(cmd):
    """(seconds, peak resident MB of the process, stdout) of a whole command."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, env=ENV, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)  # this process's own resource use
        proc.returncode = os.waitstatus_to_exitcode(status)
        took = time.monotonic() - t0
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            sys.exit(f"{' '.join(cmd)}: exit {proc.returncode}\n{err.read()[-2000:]}")
        return took, usage.ru_maxrss / 1024, out.read()


def python(code):
    return [sys.executable, "-c", code]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--rows-scale", type=float, default=1.0)
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--keep", help="write the sweep's file into this directory and keep it")
    args = p.parse_args()
    program = os.path.join(args.build, "icl-sweep")
    with tempfile.TemporaryDirectory() as tmp:
        where = args.keep or tmp
        os.makedirs(where, exist_ok=True)
        ini, out = os.path.join(where, "large.ini"), os.path.join(where, "large.h5")
        with open(ini, "w") as f:
            f.write(config(args.rows_scale))
        if os.path.exists(out):
            os.remove(out)
        sweep = ["mpiexec", "--oversubscribe", "-n", str(args.ranks), program, "--config", ini, "--output", out,
                 "--progress", "0"]
        rows_line = subprocess.run([program, "--config", ini, "--dry-run"], env=ENV, capture_output=True, text=True).stdout
        rows = int(next(l for l in rows_line.splitlines() if l.startswith("rows:")).split()[1])
        t_sweep, _, _ = measured(sweep)
        size = os.path.getsize(out)
        results = [("sweep (closed forms, %d ranks)" % args.ranks, f"{t_sweep:.1f} s", ""),
                   ("file size", f"{size / 1e6:.1f} MB", f"{size / rows:.0f} bytes a row")]
        steps = [
            ("icl_sweep.load (every column)", python(f"import icl_sweep; df = icl_sweep.load({out!r}); print(len(df))")),
            ("icl_sweep.load (columns: d, n_train, m_test, shift, risk_model_theory, risk_zero)",
             python(f"import icl_sweep; df = icl_sweep.load({out!r}, columns=['d', 'n_train', 'm_test', 'shift', "
                    f"'risk_model_theory', 'risk_zero']); print(len(df))")),
            ("plot --fix d=20 --fix m_test=50 (x n_train, hue shift_param, the closed forms)",
             [sys.executable, "-m", "icl_sweep", "plot", out, "--x", "n_train", "--hue", "shift_param", "--fix", "d=20",
              "--fix", "m_test=50", "--predictors", "model_theory", "--out", os.path.join(where, "plot.png")]),
            ("analyze --phase n_train shift_param --fix d=20 --fix m_test=50",
             [sys.executable, "-m", "icl_sweep", "analyze", out, os.path.join(where, "analysis"), "--phase", "n_train",
              "shift_param", "--fix", "d=20", "--fix", "m_test=50", "--no-curves"]),
        ]
        for name, cmd in steps:
            took, peak, _ = measured(cmd)
            results.append((name, f"{took:.1f} s", f"peak resident {peak:.0f} MB"))
    print(f"{rows:,} rows on {platform.node()} ({os.cpu_count()} cores, {platform.processor() or platform.machine()}), "
          f"Python {platform.python_version()}\n")
    print("| step | time | note |\n|---|---|---|")
    for name, value, note in results:
        print(f"| {name} | {value} | {note} |")


if __name__ == "__main__":
    main()
