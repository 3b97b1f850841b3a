"""End-to-end: --extend OLD.h5 reuses OLD's rows bitwise and computes only the new ones (flow and a
sampled model, 3 ranks), takes runs whole where OLD holds all their conditions, and refuses what it
cannot reuse (exit 2, nothing written). --merge makes one file of an array job's files (equal to
the whole sweep), leaves a union its inputs do not fill to --resume, and refuses inputs whose shared
rows disagree or that another build computed."""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

from sweep_runner import MPI_ENV, TIMING_COLUMNS, check, finish, result_columns, run_sweep, same_columns, table

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
# More values of c, one d more: every old run is evaluated on its new conditions from its stored
# model (nothing trained again).
WIDER = OLD.replace("d = 3, 4", "d = 3, 4, 5").replace("covariate_scale(2)", "covariate_scale(0.5, 2, 4)")
# One d more only: the old runs are taken whole.
LONGER = OLD.replace("d = 3, 4", "d = 3, 4, 5")


def write(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def rows(path):
    return table(path).to_records(index=False)


def keys(row):
    return tuple(row[k] for k in ("d", "n_train", "spectrum", "sigma", "init_seed", "model", "lr", "steps", "m_test", "shift"))


def reused_count(stderr):
    m = re.search(r"(\d+) of (\d+) rows reused; (\d+) runs taken whole, (\d+) evaluated on their new conditions "
                  r"from their stored models, (\d+) trained again", stderr)
    return tuple(int(g) for g in m.groups()) if m else None


def held(program, out, proc, timeout=60):
    """Waits until `icl-sweep status OUT` names a writer; False if `proc` ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        r = subprocess.run([program, "status", out], capture_output=True, text=True)
        if "running (icl-sweep, pid" in r.stdout:
            return True
        time.sleep(0.01)
    return False


def one_writer(program, tmp, old_busy, wider_busy):
    """The one-writer rule on every path that opens a journal: a sweep holding its output (started
    fresh, by --resume, by --resume-or-start, by --extend, a merge's unfinished output resumed) is
    frozen (SIGSTOP) while it holds the journal, and every other writer (a fresh start with --force,
    --resume, --resume-or-start, --extend and merge with --force) is refused with exit 2; thawed,
    it goes on, and the output ends bitwise as a clean run."""
    env = dict(os.environ, **MPI_ENV)
    busy_ini = os.path.join(tmp, "busy.ini")
    half_busy = os.path.join(tmp, "half_busy.h5")
    r = run_sweep(program, ["--config", write(tmp, "half_busy.ini", open(busy_ini).read().replace("d = 3, 4", "d = 5")
                                              .replace("covariate_scale(2)", "covariate_scale(4)")),
                            "--output", half_busy, "--progress", "0"])
    check(r.returncode == 0, f"one writer: half_busy exit {r.returncode}")
    held_count = 0

    def hold(first, out, cfg, stop):
        """Runs `first` on `out` (of config `cfg`), freezes it while it writes, tries every other writer."""
        nonlocal held_count
        proc = subprocess.Popen([program, *first, "--progress", "0"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        if not held(program, out, proc):
            check(False, f"one writer: {first} never held {os.path.basename(out)} (exit {proc.wait()})")
            return proc.returncode
        os.kill(proc.pid, signal.SIGSTOP)
        try:
            for name, args in (("a fresh start", ["--config", cfg, "--output", out, "--force"]),
                               ("--resume", ["--resume", out]),
                               ("--resume-or-start", ["--config", cfg, "--output", out, "--resume-or-start"]),
                               ("--extend", ["--config", wider_busy, "--extend", old_busy, "--output", out, "--force"]),
                               ("merge", ["merge", old_busy, "--output", out, "--force"])):
                r = run_sweep(program, args + ["--progress", "0"])
                check(r.returncode == 2 and "another icl-sweep" in r.stderr and os.path.exists(out + ".journal"),
                      f"one writer: {name} while {first[0]} holds {os.path.basename(out)}: exit {r.returncode} "
                      f"{r.stderr[-300:]!r}")
        finally:
            os.kill(proc.pid, signal.SIGCONT)
        if stop:
            proc.send_signal(signal.SIGINT)
        proc.wait(timeout=600)
        held_count += 1
        return proc.returncode

    # Started, resumed, resumed-or-started, each stopped again at once; then finished.
    out = os.path.join(tmp, "held.h5")
    for first in (["--config", busy_ini, "--output", out], ["--resume", out],
                  ["--config", busy_ini, "--output", out, "--resume-or-start"]):
        code = hold(first, out, busy_ini, stop=True)
        check(code == 3, f"one writer: {first[0]} stopped with exit {code}")
    r = run_sweep(program, ["--resume", out, "--progress", "0"])
    check(r.returncode == 0 and same_columns(result_columns(out, True), result_columns(old_busy, True)),
          f"one writer: held, stopped and resumed: exit {r.returncode}, or not the clean run")
    # --extend's output, and a merge's unfinished output resumed.
    code = hold(["--config", wider_busy, "--extend", old_busy, "--output", os.path.join(tmp, "held_ext.h5")],
                os.path.join(tmp, "held_ext.h5"), wider_busy, stop=False)
    check(code == 0, f"one writer: --extend exit {code}")
    holes = os.path.join(tmp, "held_merge.h5")
    r = run_sweep(program, ["merge", old_busy, half_busy, "--output", holes, "--fill"])
    check(r.returncode == 3, f"one writer: merge with holes exit {r.returncode}")
    union = write(tmp, "union_busy.ini", open(busy_ini).read().replace("d = 3, 4", "d = 3, 4, 5")
                  .replace("covariate_scale(2)", "covariate_scale(2), covariate_scale(4)"))
    code = hold(["--resume", holes], holes, union, stop=False)
    check(code == 0, f"one writer: the merge's output resumed: exit {code}")
    print(f"one writer: {held_count} outputs held (start, --resume, --resume-or-start, --extend, a merge's output), "
          f"5 other writers refused at each")


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

        for name, text, ranks, expect in (("wider", WIDER, 3, (16, 48, 0, 4, 0)), ("longer", LONGER, 2, (16, 24, 4, 0, 0))):
            ini = write(tmp, name + ".ini", text)
            ext, clean = os.path.join(tmp, name + "_ext.h5"), os.path.join(tmp, name + "_clean.h5")
            # With a deadline, as the Slurm scripts run: the rate that fits runs to it must not be
            # spoilt by the rows left to rank 0 (it once stopped handing out runs: exit 3 at once).
            r = run_sweep(args.program, ["--config", ini, "--extend", old, "--output", ext, "--progress", "0",
                                         "--stop-after", "1h"], ranks)
            check(r.returncode == 0, f"{name}: --extend exit {r.returncode}: {r.stderr[-1500:]}")
            check(reused_count(r.stderr) == expect, f"{name}: reuse reported {reused_count(r.stderr)}, expected {expect}")
            # The old runs' stored models (the flow's A, the LSA's final state) are evaluated: none trains
            # (each sampled run says so; the flow's are counted in the line above).
            untrained = r.stderr.count("is evaluated on its new conditions; nothing trained")
            check(untrained == expect[3] // 2 and "continued from its checkpoint" not in r.stderr,
                  f"{name}: {untrained} lsa runs evaluated from stored models, expected {expect[3] // 2}: {r.stderr[-800:]}")
            with h5py.File(ext, "r") as f, h5py.File(old, "r") as o:
                kept = sorted(int(k) for k in f["models"])
                # Each lsa run keeps its final state (2 in OLD, 3 with d = 5); the flow's A is in /parameters.
                check(len(o["models"]) == 2 and len(kept) == 3 and all(f["models"][str(k)].shape[0] > 0 for k in kept),
                      f"{name}: /models of the extension holds runs {kept}")
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

        # A value listed twice in effect (`m_test = n, 20` at N = 20): every old row is still found.
        twice = OLD.replace("n_train = 6", "n_train = 6, 3").replace("m_test = n, 3", "m_test = n, 3")
        twice_old = os.path.join(tmp, "twice.h5")
        r = run_sweep(args.program, ["--config", write(tmp, "twice.ini", twice), "--output", twice_old, "--progress", "0"])
        r = run_sweep(args.program, ["--config", write(tmp, "twice_more.ini", twice.replace("d = 3, 4", "d = 3, 4, 5")),
                                     "--extend", twice_old, "--output", os.path.join(tmp, "twice_more.h5"), "--progress", "0"])
        check(r.returncode == 0 and reused_count(r.stderr) == (32, 48, 8, 0, 0),
              f"a condition listed twice: exit {r.returncode}, {reused_count(r.stderr)}: {r.stderr[-500:]}")
        # GPT-2: its position table is sized by the grid's longest test prompt, so a larger M is refused.
        gpt = OLD.replace("model = flow, lsa", "model = gpt2(1, 1, 8)").replace("steps = 40", "steps = 3")
        gpt_old = os.path.join(tmp, "gpt.h5")
        r = run_sweep(args.program, ["--config", write(tmp, "gpt.ini", gpt), "--output", gpt_old, "--progress", "0"])
        check(r.returncode == 0, f"gpt2 sweep: exit {r.returncode}: {r.stderr[-500:]}")
        out = os.path.join(tmp, "gpt_more.h5")
        r = run_sweep(args.program, ["--config", write(tmp, "gpt_more.ini", gpt.replace("m_test = n, 3", "m_test = n, 3, 12")),
                                     "--extend", gpt_old, "--output", out, "--progress", "0"])
        check(r.returncode == 2 and "position table" in r.stderr and not os.path.exists(out),
              f"gpt2 with a longer test prompt: exit {r.returncode}: {r.stderr[-500:]}")

        # Refusals: exit 2, one message naming the old file, nothing written.
        incomplete = os.path.join(tmp, "incomplete.h5")
        with open(old, "rb") as src, open(incomplete, "wb") as dst:
            dst.write(src.read())
        with h5py.File(incomplete, "r+") as f:
            f.attrs["completed"] = np.uint8(0)
        # A file of schema 5 drew its test prompts by training run: refused, and the message says so.
        schema5 = os.path.join(tmp, "schema5.h5")
        with open(old, "rb") as src, open(schema5, "wb") as dst:
            dst.write(src.read())
        with h5py.File(schema5, "r+") as f:
            f.attrs["schema_version"] = np.int32(5)
        # Marked complete, but a row is not done: no result to reuse.
        undone = os.path.join(tmp, "undone.h5")
        with open(old, "rb") as src, open(undone, "wb") as dst:
            dst.write(src.read())
        with h5py.File(undone, "r+") as f:
            r1 = f["results"][1]
            r1["done"] = 0
            f["results"][1] = r1
        cases = [
            ("a row not done", WIDER, undone, "1 of its"),
            ("schema 5", WIDER, schema5, "test prompts are drawn by test law"),
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

        # --merge: an array job split along d gives the whole sweep's file.
        parts = []
        for d in (3, 4, 5):
            part = os.path.join(tmp, f"part{d}.h5")
            r = run_sweep(args.program, ["--config", write(tmp, f"part{d}.ini", LONGER.replace("d = 3, 4, 5", f"d = {d}")),
                                         "--output", part, "--progress", "0"])
            check(r.returncode == 0, f"part d={d}: exit {r.returncode}")
            parts.append(part)
        merged = os.path.join(tmp, "merged.h5")
        r = run_sweep(args.program, ["merge"] + parts + ["--output", merged], 2)  # `icl-sweep merge` is --merge
        check(r.returncode == 0 and "merged 3 files" in r.stderr, f"--merge: exit {r.returncode}: {r.stderr[-800:]}")
        check(same_columns(result_columns(merged, True), result_columns(os.path.join(tmp, "longer_clean.h5"), True)),
              "--merge of the array job's files differs from the whole sweep")
        check(sorted(rows(merged)["seconds"]) == sorted(np.concatenate([rows(p)["seconds"] for p in parts])),
              "--merge computed rows instead of copying them")
        # A union that its inputs do not fill: what they hold is kept, --resume computes the rest.
        half = os.path.join(tmp, "half.h5")
        r = run_sweep(args.program, ["--config", write(tmp, "half.ini", OLD.replace("covariate_scale(2)", "covariate_scale(4)")
                                                       .replace("d = 3, 4", "d = 5")), "--output", half, "--progress", "0"])
        holes = os.path.join(tmp, "holes.h5")
        # Refused without --fill: a results file holds its whole grid; the message says what to run.
        r = run_sweep(args.program, ["--merge", old, half, "--output", holes])
        check(r.returncode == 2 and "the inputs hold 24 of the 36 rows of the union" in r.stderr and
              "12 rows are in none (the first: d = 3" in r.stderr and f'icl_sweep.load(["{old}", "{half}"])' in r.stderr and
              f"--output {holes} --fill, then icl-sweep --resume {holes}" in r.stderr,
              f"--merge with holes, without --fill: exit {r.returncode}: {r.stderr[-800:]}")
        check(not os.path.exists(holes) and not os.path.exists(holes + ".journal"), "--merge with holes wrote something")
        r = run_sweep(args.program, ["--merge", old, half, "--output", holes, "--fill"])
        check(r.returncode == 3 and f"icl-sweep --resume {holes}" in r.stderr, f"--merge --fill with holes: exit {r.returncode}: {r.stderr[-500:]}")
        r = run_sweep(args.program, ["--resume", holes, "--progress", "0"])
        union = OLD.replace("d = 3, 4", "d = 3, 4, 5").replace("covariate_scale(2)", "covariate_scale(2), covariate_scale(4)")
        clean = os.path.join(tmp, "union_clean.h5")
        run_sweep(args.program, ["--config", write(tmp, "union.ini", union), "--output", clean, "--progress", "0"])
        check(r.returncode == 0 and same_columns(result_columns(holes, True), result_columns(clean, True)),
              f"--merge with holes, then --resume: exit {r.returncode}, not the clean union sweep")
        # Inputs whose shared rows disagree, or from another build: refused, nothing written.
        for what, change, words in (("a row not done", "done", "rows are not done"),
                                    ("a tampered row", "row", "differs from the same row"),
                                    ("another build", "program", "another build"),
                                    ("schema 5", "schema", "results schema version 5")):
            bad = os.path.join(tmp, "bad.h5")
            with open(parts[0], "rb") as src, open(bad, "wb") as dst:
                dst.write(src.read())
            with h5py.File(bad, "r+") as f:
                if change == "row":
                    r0 = f["results"][0]
                    r0["risk_model_mc"] *= 1.0 + 1e-15
                    f["results"][0] = r0
                elif change == "done":
                    r0 = f["results"][0]
                    r0["done"] = 0
                    f["results"][0] = r0
                elif change == "schema":
                    f.attrs["schema_version"] = np.int32(5)
                else:
                    f.attrs["program"] = np.bytes_("icl-sweep 0.0.1 (0123456789ab, sources 0123456789abcdef)")
            out = os.path.join(tmp, "bad_merge.h5")
            r = run_sweep(args.program, ["--merge", parts[0], bad, "--output", out])
            check(r.returncode == 2 and words in r.stderr and bad in r.stderr, f"--merge, {what}: exit {r.returncode}: {r.stderr[-500:]}")
            check(not os.path.exists(out) and not os.path.exists(out + ".journal"), f"--merge, {what}: something was written")
        print("merge: an array job's three files give the whole sweep bitwise; holes are refused, or with --fill left to --resume; "
              "disagreeing rows and other builds are refused")

        # The one-writer rule, on sweeps slow enough to be caught writing.
        busy = OLD.replace("mc_prompts = 300", "mc_prompts = 100000")
        write(tmp, "busy.ini", busy)
        old_busy = os.path.join(tmp, "old_busy.h5")
        r = run_sweep(args.program, ["--config", os.path.join(tmp, "busy.ini"), "--output", old_busy, "--progress", "0"])
        check(r.returncode == 0, f"busy sweep: exit {r.returncode}")
        one_writer(args.program, tmp, old_busy, write(tmp, "wider_busy.ini", WIDER.replace("mc_prompts = 300", "mc_prompts = 100000")))
    return finish("extend and merge")


if __name__ == "__main__":
    sys.exit(main())
