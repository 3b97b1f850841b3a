"""End-to-end: every config in tests/bad_configs is refused the way docs/interface.md promises for bad input:
exit status 2, exactly one message line on stderr that names the config file and contains each
`# expect: <substring>` of the file, and nothing written (no output file, no journal).

Each config is run with the working directory set to the configs' folder, so that spectra such
as file(data/x.txt) resolve against it. A config with a `# no-output-override` line is run without
--output, so that its own sweep.output is used. A few configs are also run under mpiexec with two
ranks (mpiexec -q, which keeps mpiexec's own notices off stderr), where the message must still
appear once.

usage: check_bad_configs.py --program build/icl-sweep --configs tests/bad_configs
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile

MPI_ENV = {
    "OMPI_ALLOW_RUN_AS_ROOT": "1",
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
    # Loopback only: the test machines have no other network worth probing.
    "OMPI_MCA_btl_tcp_if_include": "lo",
    "OMPI_MCA_oob_tcp_if_include": "lo",
}
# Run under mpiexec as well: a value error, a grid-size error, the unwritable output (refused by
# rank 0 after the config was accepted on every rank), and a device no rank has (train.device =
# cuda with the CPU build of libtorch this suite runs on: each rank finds it has no GPU, rank 0
# says so once).
MPI_CASES = ("grid_sigma_negative.ini", "grid_too_many_runs.ini", "sweep_output_unwritable.ini",
             "train_device_cuda.ini")
TIMEOUT = 120


def read_directives(path):
    expects, override = [], True
    with open(path, encoding="utf-8") as f:
        for line in f:
            s = line.strip()
            if s.startswith("# expect:"):
                expects.append(s[len("# expect:"):].strip())
            elif s == "# no-output-override":
                override = False
    return expects, override


def check_case(program, path, ranks):
    """Returns a list of problems (empty when the config is refused as it should be)."""
    name = os.path.basename(path)
    expects, override = read_directives(path)
    problems = []
    if not expects:
        problems.append("the file has no '# expect:' line")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.h5")
        args = [program, "--config", path, "--progress", "0"]
        if override:
            args += ["--output", out]
        env = dict(os.environ)
        if ranks is not None:
            # -q: without it mpiexec adds its own banner about the non-zero exit status to
            # stderr; the program's stderr still passes through untouched.
            args = ["mpiexec", "-q", "--oversubscribe", "-n", str(ranks)] + args
            env.update(MPI_ENV)
        try:
            r = subprocess.run(args, cwd=os.path.dirname(path), env=env, capture_output=True,
                               text=True, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            return [f"no exit within {TIMEOUT} s"]
        if r.returncode != 2:
            problems.append(f"exit status {r.returncode}, expected 2")
        lines = r.stderr.splitlines()
        if len(lines) != 1 or not lines[0].strip():
            problems.append(f"expected one non-empty stderr line, got {len(lines)}: {r.stderr!r}")
        message = lines[0] if lines else ""
        if r.stdout.strip():
            problems.append(f"unexpected stdout: {r.stdout!r}")
        for needle in [name] + expects:
            if needle not in message:
                problems.append(f"message lacks {needle!r}: {message!r}")
        written = [f for f in (out, out + ".journal") if os.path.exists(f)]
        if not override:
            written = []
            # The file's own output: the path the message names must not exist afterwards.
            for needle in expects:
                if needle.startswith("output = "):
                    target = needle[len("output = "):]
                    written += [f for f in (target, target + ".journal") if os.path.exists(f)]
        if written:
            problems.append(f"bad input wrote {written}")
        leftovers = os.listdir(tmp)
        if leftovers:
            problems.append(f"bad input left files in the output directory: {leftovers}")
    return problems


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--program", required=True)
    p.add_argument("--configs", required=True, help="the folder of bad *.ini files")
    args = p.parse_args()
    program = os.path.abspath(args.program)
    folder = os.path.abspath(args.configs)
    configs = sorted(glob.glob(os.path.join(folder, "*.ini")))
    if not configs:
        print(f"no *.ini files in {folder}")
        return 1
    runs = [(c, None) for c in configs]
    runs += [(os.path.join(folder, n), 2) for n in MPI_CASES if os.path.join(folder, n) in configs]
    if len(runs) != len(configs) + len(MPI_CASES):
        print(f"missing MPI cases: expected {', '.join(MPI_CASES)} in {folder}")
        return 1
    passed = failed = 0
    for path, ranks in runs:
        label = os.path.basename(path) + ("" if ranks is None else f" (mpiexec -n {ranks})")
        problems = check_case(program, path, ranks)
        if problems:
            failed += 1
            print(f"FAIL {label}: " + "; ".join(problems))
        else:
            passed += 1
            print(f"ok   {label}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
