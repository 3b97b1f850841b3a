"""One results file from several: the program's --merge (docs/interface.md, "Merging files")."""
import os
import shutil
import subprocess

from .results import expand_paths

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class MergeRefused(RuntimeError):
    """The program refused the merge (its message says why); nothing was written."""


def program_path():
    """icl-sweep: $ICL_SWEEP_PROGRAM, else this checkout's build, else the PATH's."""
    for candidate in (os.environ.get("ICL_SWEEP_PROGRAM"), os.path.join(ROOT, "build", "icl-sweep"), shutil.which("icl-sweep")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise FileNotFoundError("icl-sweep not found: build it (README) or set ICL_SWEEP_PROGRAM")


def merge(inputs, output, force=False, fill=False, program=None):
    """Merges finished sweeps' files (paths, globs or a list) into `output`: the union of their
    grids, every row an input holds copied bitwise, rows several hold checked equal. Returns True
    when the output is complete. Inputs that do not fill the union are refused unless fill=True,
    which writes what they hold and returns False (`icl-sweep --resume OUTPUT` computes the rest).
    Raises MergeRefused (exit 2: inputs that leave holes without fill, disagreeing rows, other
    builds, unfinished inputs, an existing output without force)."""
    cmd = [program or program_path(), "--merge", *expand_paths(inputs), "--output", os.fspath(output)]
    if force:
        cmd.append("--force")
    if fill:
        cmd.append("--fill")
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode == 0:
        return True
    if r.returncode == 3:
        return False
    raise MergeRefused(r.stderr.strip() or f"icl-sweep --merge exited {r.returncode}")
