"""End-to-end: the command line of docs/interface.md: bad input exits 2 with one message and writes
nothing, an existing output is kept without --force, --dry-run writes nothing, overrides apply."""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

from sweep_runner import MPI_ENV, check, finish, result_columns, run_sweep, same_columns


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--program", required=True)
    p.add_argument("--config", required=True)
    args = p.parse_args()
    prog, cfg = args.program, args.config
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.h5")

        r = run_sweep(prog, ["--config", os.path.join(tmp, "missing.ini"), "--output", out])
        check(r.returncode == 2, f"missing config: exit {r.returncode}")
        check("missing.ini" in r.stderr, f"missing config: message {r.stderr!r}")

        r = run_sweep(prog, ["--config", cfg, "--output", out, "--grid.sigma", "-1"], ranks=2)
        check(r.returncode == 2, f"bad override: exit {r.returncode}")
        lines = [l for l in r.stderr.splitlines() if l.startswith("icl-sweep")]
        check(len(lines) == 1, f"bad override under 2 ranks: expected one message, got {lines}")
        check(all(s in r.stderr for s in ("[grid]", "sigma", "-1")), f"bad override message: {r.stderr!r}")
        check(not os.path.exists(out), "bad input wrote a file")

        r = run_sweep(prog, ["--config", cfg, "--output", out, "--dry-run", "--grid.d", "3"])
        check(r.returncode == 0, f"dry run: exit {r.returncode} {r.stderr}")
        # 1 d x 1 n x 3 spectra x 2 sigma x 1 seed = 6 runs; 2 m x 7 shifts = 14 conditions.
        check("rows: 84" in r.stdout, f"dry run output: {r.stdout!r}")
        check("estimated cost" in r.stdout, "dry run without a cost estimate")
        check(not os.path.exists(out), "dry run wrote a file")

        r = run_sweep(prog, ["--config", cfg, "--output", out, "--grid.d", "3", "--eval.mc_prompts", "50",
                             "--progress", "0"])
        check(r.returncode == 0, f"first run: exit {r.returncode} {r.stderr}")
        before = open(out, "rb").read() if os.path.exists(out) else b""
        r = run_sweep(prog, ["--config", cfg, "--output", out, "--grid.d", "3"])
        check(r.returncode == 2, f"existing output without --force: exit {r.returncode}")
        check("--force" in r.stderr, f"existing output message: {r.stderr!r}")
        check(open(out, "rb").read() == before, "existing output was modified")
        r = run_sweep(prog, ["--config", cfg, "--output", out, "--grid.d", "3", "--eval.mc_prompts", "50",
                             "--force", "--progress", "0"])
        check(r.returncode == 0, f"--force: exit {r.returncode} {r.stderr}")

        # --resume-or-start: starts where nothing is, finds a complete file complete, resumes an
        # unfinished sweep, refuses (and keeps) anything else.
        small = ["--config", cfg, "--grid.d", "3", "--eval.mc_prompts", "50", "--progress", "0"]
        ros = os.path.join(tmp, "ros.h5")
        r = run_sweep(prog, small + ["--output", ros, "--resume-or-start"])
        check(r.returncode == 0 and os.path.exists(ros), f"--resume-or-start, nothing there: exit {r.returncode} {r.stderr}")
        first = open(ros, "rb").read()
        r = run_sweep(prog, small + ["--output", ros, "--resume-or-start"])
        check(r.returncode == 0 and "already complete" in r.stderr, f"--resume-or-start, complete: {r.returncode} {r.stderr!r}")
        check(open(ros, "rb").read() == first, "--resume-or-start changed a complete file")
        r = run_sweep(prog, small + ["--output", ros, "--resume-or-start", "--eval.knn_k", "5"])
        check(r.returncode == 2 and "eval.knn_k" in r.stderr, f"--resume-or-start, other sweep: {r.returncode} {r.stderr!r}")
        check(open(ros, "rb").read() == first, "--resume-or-start changed another sweep's file")
        foreign = os.path.join(tmp, "foreign.h5")
        open(foreign, "w").write("not ours")
        r = run_sweep(prog, small + ["--output", foreign, "--resume-or-start"])
        check(r.returncode == 2 and open(foreign).read() == "not ours", f"--resume-or-start, foreign file: {r.returncode}")
        for bad in (["--resume-or-start", "--force"], ["--resume-or-start", "--resume"]):
            r = run_sweep(prog, small + ["--output", ros] + bad)
            check(r.returncode == 2 and "exclude each other" in r.stderr, f"{bad}: exit {r.returncode} {r.stderr!r}")
        r = run_sweep(prog, ["--resume-or-start", ros])
        check(r.returncode == 2 and "--config" in r.stderr, f"--resume-or-start without --config: {r.returncode} {r.stderr!r}")
        r = run_sweep(prog, small + ["--output", ros, "--fill"])
        check(r.returncode == 2 and "--fill goes with --merge" in r.stderr,
              f"--fill without --merge: {r.returncode} {r.stderr!r}")

        # Deadlines that cannot be kept: exit 2, nothing written (no stop at once with exit 3).
        late = os.path.join(tmp, "late.h5")
        for bad, says in ((["--stop-after", ""], "empty"), (["--stop-after", "99999999999999999999d"], "100 years"),
                          (["--stop-at", "@99999999999999999999"], "not a time"),
                          (["--stop-at", "2099-02-30T00:00"], "not a time")):
            r = run_sweep(prog, small + ["--output", late] + bad)
            check(r.returncode == 2 and says in r.stderr and not os.path.exists(late),
                  f"{bad}: exit {r.returncode}, {r.stderr!r}, file written: {os.path.exists(late)}")

        # The file-size limit (ulimit -f): a write beyond it fails with a message and exit 1 (when
        # the output cannot be created at all, nothing is left), never death by SIGXFSZ; lifted,
        # --resume then finishes the sweep as a clean run computes it.
        def limited(kib):
            return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (kib * 1024, kib * 1024))
        clean, capped = os.path.join(tmp, "clean.h5"), os.path.join(tmp, "capped.h5")
        r = run_sweep(prog, small + ["--output", clean])
        check(r.returncode == 0, f"clean run: exit {r.returncode} {r.stderr[-300:]}")
        for kib, expected in ((8, 1), (24, 1)):
            for f in (capped, capped + ".journal"):
                if os.path.exists(f):
                    os.remove(f)
            r = subprocess.run([prog] + small + ["--output", capped], env=dict(os.environ, **MPI_ENV),
                               capture_output=True, text=True, timeout=600, preexec_fn=limited(kib))
            check(r.returncode == expected and "File too large" in r.stderr,
                  f"ulimit -f {kib}: exit {r.returncode} (expected {expected}), stderr {r.stderr[-400:]!r}")
            if kib == 8:  # the output could not be created: nothing of it is left
                left = [n for n in os.listdir(tmp) if n.startswith("capped.h5")]
                check(left == [], f"ulimit -f 8: left {left}")
        r = run_sweep(prog, ["--resume", capped, "--progress", "0"])
        check(r.returncode == 0 and same_columns(result_columns(capped, True), result_columns(clean, True)),
              f"--resume after ulimit -f: exit {r.returncode}, or not the clean run: {r.stderr[-300:]}")

        # Unusable output paths: exit 2 naming [sweep] output, nothing created, nothing removed.
        paths = os.path.join(tmp, "paths")
        os.makedirs(os.path.join(paths, "empty"))
        os.makedirs(os.path.join(paths, "full"))
        open(os.path.join(paths, "full", "keep"), "w").write("x")
        os.symlink(os.path.join(paths, "nowhere.h5"), os.path.join(paths, "dangling.h5"))
        before = sorted(os.listdir(paths))
        for name, why in (("dangling.h5", "symbolic link"), ("empty", "is a directory"), ("full", "is a directory"),
                          ("x" * 240 + ".h5", "file name has 243 characters"),
                          (os.path.join("missing", "out.h5"), "does not exist"),
                          (os.path.join("full", "keep", "out.h5"), "is not a directory")):
            for force in ([], ["--force"]):
                r = run_sweep(prog, small + ["--output", os.path.join(paths, name)] + force)
                check(r.returncode == 2 and "[sweep] output" in r.stderr and why in r.stderr,
                      f"output {name[:20]} {force}: exit {r.returncode} {r.stderr[-300:]!r}")
        check(sorted(os.listdir(paths)) == before and os.listdir(os.path.join(paths, "empty")) == []
              and os.path.islink(os.path.join(paths, "dangling.h5")),
              f"refused outputs changed the directory: {sorted(os.listdir(paths))}")

        # A grid of 4096 dimensions x 4 spectra is validated and estimated at once (it took
        # minutes when every d built its d x d eigenvectors); the bound is loose for loaded CI.
        t0 = time.monotonic()
        r = run_sweep(prog, ["--config", cfg, "--dry-run", "--grid.d", "1:4096:1",
                             "--grid.spectrum", "isotropic, power(1), geometric(10), spiked(1, 2)"])
        took = time.monotonic() - t0
        check(r.returncode == 0 and "rows: 458752" in r.stdout, f"big dry run: exit {r.returncode} {r.stdout[-300:]}")
        check(took < 60, f"big dry run took {took:.1f} s")

        r = run_sweep(prog, ["--config", cfg, "--bogus"])
        check(r.returncode == 2, f"unknown option: exit {r.returncode}")
    return finish("command-line")


if __name__ == "__main__":
    sys.exit(main())
