"""Shared by the end-to-end checks: runs icl-sweep the way users do (alone, or under mpiexec as
root in a container) and collects failed checks."""
import os
import sys
import subprocess

MPI_ENV = {
    "OMPI_ALLOW_RUN_AS_ROOT": "1",
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
    # Loopback only: the test machines have no other network worth probing.
    "OMPI_MCA_btl_tcp_if_include": "lo",
    "OMPI_MCA_oob_tcp_if_include": "lo",
}


def run_sweep(program, args, ranks=None, timeout=600):
    """ranks=None runs the program without mpiexec (a singleton MPI job)."""
    env = dict(os.environ, **MPI_ENV)
    cmd = [program] + list(args)
    if ranks is not None:
        cmd = ["mpiexec", "--oversubscribe", "-n", str(ranks)] + cmd
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


# Columns that depend on the machine and the schedule, not on the sweep (docs/interface.md,
# Determinism): every other column is bitwise reproducible. The package's list, one place.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from icl_sweep.results import TIMING_COLUMNS  # noqa: E402

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL:", message)


def finish(what):
    """Prints the outcome and returns the exit status."""
    print(f"{len(failures)} failed" if failures else f"all {what} checks passed")
    return 1 if failures else 0


def result_columns(path, trajectories=False):
    """Every column of /results but the timing ones (and with trajectories=True the trajectories
    and the kept weights, /parameters, where the file has them)."""
    import h5py  # the runner itself needs no h5py
    with h5py.File(path, "r") as f:
        r = f["results"][:]
        out = {n: r[n] for n in r.dtype.names if n not in TIMING_COLUMNS}
        if trajectories:
            for name in f["trajectories"]:
                out["trajectory_" + name] = f["trajectories"][name][:]
            if "parameters" in f:
                out["parameters"] = f["parameters"][:]
        return out


def table(path):
    """/results as a DataFrame, every row, the text columns decoded (the package's reader)."""
    import h5py
    from icl_sweep.results import read_table
    with h5py.File(path, "r") as f:
        return read_table(f, path)


def same_columns(a, b):
    """Bitwise equality, NaN equal to NaN."""
    import numpy as np
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind == "f") for k in a)
