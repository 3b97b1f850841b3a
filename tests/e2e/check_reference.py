"""End-to-end: the program's results are bitwise those of a reference build. tests/data/reference.json
holds, per sweep (tests/e2e/small.ini, jobs/demo.ini), a SHA-256 of every column of /results but the
timing ones and of every /trajectories dataset, as the build named there wrote them. A change of the
code's shape (the rooms of sweep/, the lists of predictors and axes) must leave them all equal; a
change that alters results on purpose regenerates the file (--write) and says why in its commit.

Sampled models are left out: libtorch picks its CPU kernels at run time, so their last bits may
depend on the machine; the flow, every closed form and the Monte-Carlo estimates (Eigen, built for
the portable instruction set) do not."""
import argparse
import hashlib
import json
import os
import sys
import tempfile

from sweep_runner import TIMING_COLUMNS, check, finish, run_sweep

SWEEPS = {"small": "tests/e2e/small.ini", "demo": "jobs/demo.ini"}


# A text column's digest is of its texts as fixed-length, NUL-padded strings of these widths (how
# schema 7 stored them; schema 8 stores each text once and a number per row), so that the digests
# do not depend on how the texts are stored.
TEXT_WIDTHS = {"status": 16, "spectrum": 128, "shift": 48, "model": 48}


def digests(path):
    """name -> (rows, SHA-256 of the column's bytes as stored; of a text column, of its texts),
    for every non-timing column and every trajectory dataset."""
    import h5py
    import numpy as np
    from icl_sweep.results import text_values
    out = {}
    with h5py.File(path, "r") as f:
        r = f["results"][:]
        for name in r.dtype.names:
            if name in TIMING_COLUMNS:
                continue
            column = r[name]
            if name in TEXT_WIDTHS:
                column = np.array(list(text_values(column, f["results"].dtype[name])), dtype=f"S{TEXT_WIDTHS[name]}")
            out["results/" + name] = [int(column.shape[0]), hashlib.sha256(column.tobytes()).hexdigest()]
        for name in sorted(f["trajectories"]):
            data = f["trajectories"][name][:]
            out["trajectories/" + name] = [int(data.shape[0]), hashlib.sha256(data.tobytes()).hexdigest()]
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--program", required=True)
    p.add_argument("--repository", required=True)
    p.add_argument("--reference", required=True)
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--write", metavar="BUILD", help="write the reference from this program, naming BUILD")
    args = p.parse_args()
    found = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, config in SWEEPS.items():
            out = os.path.join(tmp, name + ".h5")
            r = run_sweep(args.program, ["--config", os.path.join(args.repository, config), "--output", out,
                                         "--progress", "0"], ranks=args.ranks, timeout=1200)
            check(r.returncode == 0, f"{config}: exit {r.returncode} {r.stderr}")
            if r.returncode == 0:
                found[name] = digests(out)
    if args.write:
        with open(args.reference, "w") as f:
            json.dump({"build": args.write, "sweeps": SWEEPS, "digests": found}, f, indent=1, sort_keys=True)
            f.write("\n")
        print(f"wrote {args.reference}")
        return 0
    with open(args.reference) as f:
        reference = json.load(f)
    for name, expected in reference["digests"].items():
        got = found.get(name, {})
        for key in sorted(set(expected) | set(got)):
            check(expected.get(key) == got.get(key),
                  f"{SWEEPS[name]}: {key} differs from the reference build {reference['build']} "
                  f"(expected {expected.get(key)}, got {got.get(key)})")
    return finish("reference")


if __name__ == "__main__":
    sys.exit(main())
