"""End-to-end: --extend OLD.h5 reuses OLD's rows bitwise and computes only the new ones (flow and a
sampled model, 3 ranks), takes runs whole where OLD holds all their conditions, and refuses what it
cannot reuse (exit 2, nothing written)."""
import argparse
import os
import re
import sys
import tempfile

import h5py
import numpy as np

from sweep_runner import TIMING_COLUMNS, check, finish, result_columns, run_sweep, same_columns

OLD = """[sweep]
name = old
seed = 13
[grid]
d = 3, 4
n_train = 6
model = flow, lsa
[train]
steps = 40
trajectory_points = 8
[eval]
m_test = n, 3
shift = none, covariate_scale(2)
mc_prompts = 300
"""
# More values of c, one d more: every old run is trained again for its new conditions.
WIDER = OLD.replace("d = 3, 4", "d = 3, 4, 5").replace("covariate_scale(2)", "covariate_scale(0.5, 2, 4)")
# One d more only: the old runs are taken whole.
LONGER = OLD.replace("d = 3, 4", "d = 3, 4, 5")


def write(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def rows(path):
    with h5py.File(path, "r") as f:
        return f["results"][:]


def keys(row):
    return tuple(row[k] for k in ("d", "n_train", "spectrum", "sigma", "init_seed", "model", "lr", "steps", "m_test", "shift"))


def reused_count(stderr):
    m = re.search(r"(\d+) of (\d+) rows reused; (\d+) runs taken whole, (\d+) trained again", stderr)
    return tuple(int(g) for g in m.groups()) if m else None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--program", required=True)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = os.path.join(tmp, "old.h5")
        r = run_sweep(args.program, ["--config", write(tmp, "old.ini", OLD), "--output", old, "--progress", "0"])
        check(r.returncode == 0, f"old sweep: exit {r.returncode}: {r.stderr[-1500:]}")
        old_rows = rows(old)
        old_columns = result_columns(old, True)

        for name, text, ranks, expect in (("wider", WIDER, 3, (16, 48, 0, 4)), ("longer", LONGER, 2, (16, 24, 4, 0))):
            ini = write(tmp, name + ".ini", text)
            ext, clean = os.path.join(tmp, name + "_ext.h5"), os.path.join(tmp, name + "_clean.h5")
            r = run_sweep(args.program, ["--config", ini, "--extend", old, "--output", ext, "--progress", "0"], ranks)
            check(r.returncode == 0, f"{name}: --extend exit {r.returncode}: {r.stderr[-1500:]}")
            check(reused_count(r.stderr) == expect, f"{name}: reuse reported {reused_count(r.stderr)}, expected {expect}")
            r = run_sweep(args.program, ["--config", ini, "--output", clean, "--progress", "0"])
            check(r.returncode == 0, f"{name}: clean run exit {r.returncode}")
            # The extension is the clean sweep, bitwise (timing columns aside), trajectories too.
            check(same_columns(result_columns(ext, True), result_columns(clean, True)),
                  f"{name}: the extended file differs from a clean run of the larger grid")
            # OLD's rows were copied, not computed again: even their timing columns are OLD's.
            new_rows = rows(ext)
            by_key = {keys(row): row for row in new_rows}
            copied = sum(all(by_key[keys(o)][c] == o[c] for c in TIMING_COLUMNS) for o in old_rows)
            check(copied == len(old_rows), f"{name}: {copied} of {len(old_rows)} old rows carried over with their timing")
            computed = len(new_rows) - len(old_rows)
            fresh = sum(keys(n) not in {keys(o) for o in old_rows} for n in new_rows)
            check(fresh == computed == expect[1] - expect[0], f"{name}: {fresh} rows computed, expected {expect[1] - expect[0]}")
            print(f"{name}: {expect[0]} rows reused bitwise, {computed} computed, on {ranks} ranks: equal to a clean run")

        # Refusals: exit 2, one message naming the old file, nothing written.
        incomplete = os.path.join(tmp, "incomplete.h5")
        with open(old, "rb") as src, open(incomplete, "wb") as dst:
            dst.write(src.read())
        with h5py.File(incomplete, "r+") as f:
            f.attrs["completed"] = np.uint8(0)
        cases = [
            ("another mc_prompts", WIDER.replace("mc_prompts = 300", "mc_prompts = 400"), old, "eval.mc_prompts"),
            ("another seed", WIDER.replace("seed = 13", "seed = 14"), old, "sweep.seed"),
            ("an old value dropped", WIDER.replace("d = 3, 4, 5", "d = 3, 5"), old, "not in the new grid"),
            ("an unfinished sweep", WIDER, incomplete, "has not completed"),
            ("no such file", WIDER, os.path.join(tmp, "absent.h5"), "no such file"),
        ]
        for what, text, source, words in cases:
            out = os.path.join(tmp, "refused.h5")
            r = run_sweep(args.program, ["--config", write(tmp, "refused.ini", text), "--extend", source, "--output", out,
                                         "--progress", "0"])
            check(r.returncode == 2 and words in r.stderr and source in r.stderr,
                  f"{what}: exit {r.returncode}, stderr {r.stderr[-600:]!r}")
            check(not os.path.exists(out) and not os.path.exists(out + ".journal"), f"{what}: something was written")
        r = run_sweep(args.program, ["--config", write(tmp, "same.ini", WIDER), "--extend", old, "--output", old, "--force"])
        check(r.returncode == 2 and "the output itself" in r.stderr, f"output = OLD: exit {r.returncode}: {r.stderr[-300:]}")
        r = run_sweep(args.program, ["--config", write(tmp, "x.ini", WIDER), "--extend", old, "--resume", "--output",
                                     os.path.join(tmp, "x.h5")])
        check(r.returncode == 2 and "--extend starts a new sweep" in r.stderr, f"--extend --resume: exit {r.returncode}")
        check(same_columns(result_columns(old, True), old_columns) and np.array_equal(rows(old)["seconds"], old_rows["seconds"]),
              "the old file changed")
    return finish("extend")


if __name__ == "__main__":
    sys.exit(main())
