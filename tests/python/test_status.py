"""icl-sweep --status on a running sweep (read from its journal, the writer undisturbed), its
snapshot export read back with icl_sweep.load(partial=True), and on a complete file."""
import re
import subprocess
import time

import pytest

import icl_sweep
from icl_sweep.results import TIMING_COLUMNS
from conftest import PROGRAM

SLOW = """[sweep]
name = status_test
[grid]
d = 10, 20
n_train = 20, 40, 80
init_seed = 0:3:1
[eval]
mc_prompts = 30000
target_rel_se = 0
"""


def status(*args):
    return subprocess.run([PROGRAM, "--status", *args], capture_output=True, text=True)


def test_status_of_a_running_sweep_and_its_snapshot(tmp_path):
    config, out = tmp_path / "slow.ini", tmp_path / "slow.h5"
    config.write_text(SLOW)
    sweep = subprocess.Popen([PROGRAM, "--config", str(config), "--output", str(out), "--progress", "0"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:  # until the first runs are journalled
            r = status(str(out))
            m = re.search(r"rows: (\d+) of 24 done", r.stdout)
            if (m and int(m.group(1)) >= 2) or sweep.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert sweep.poll() is None, "the sweep ended before it could be looked at: make it slower"
        assert r.returncode == 0 and f"{out}: running (icl-sweep, pid {sweep.pid} on this node)" in r.stdout, r.stdout
        assert "by status: converged" in r.stdout and "rate:" in r.stdout and "ETA" in r.stdout, r.stdout
        assert re.search(r"ranks: 1 reported; last reports, the longest ago first: rank 0 \d+ s ago", r.stdout), r.stdout
        snapshot = tmp_path / "snapshot.h5"
        r = status(str(out), "--export", str(snapshot))
        exported = int(re.search(r"exported (\d+) rows", r.stdout).group(1))
        assert r.returncode == 0 and exported >= 2
        df = icl_sweep.load(str(snapshot), partial=True)
        assert len(df) == exported and (df["status"] == "converged").all()
        with pytest.raises(icl_sweep.IncompleteFile):
            icl_sweep.load(str(snapshot))
        r = status(str(out), "--export", str(snapshot))  # never over an existing file
        assert r.returncode == 2 and "exists" in r.stderr
    finally:
        stdout, stderr = sweep.communicate(timeout=600)
    assert sweep.returncode == 0, stderr  # the writer was not disturbed
    r = subprocess.run([PROGRAM, "status", str(out)], capture_output=True, text=True)  # the command's spelling
    assert r.returncode == 0 and f"{out}: complete" in r.stdout and "rows: 24 of 24 done (100.0%)" in r.stdout, r.stdout
    full = icl_sweep.load(str(out))
    timing = ["file", *TIMING_COLUMNS]
    texts = {c: object for c in df.drop(columns=timing).select_dtypes("category")}  # files hold other sets of texts
    assert full.set_index("row").loc[df["row"]].reset_index().drop(columns=timing).astype(texts).equals(
        df.drop(columns=timing).astype(texts)), "the snapshot's rows are not the finished file's"


def test_status_of_nothing(tmp_path):
    r = status(str(tmp_path / "absent.h5"))
    assert r.returncode == 2 and "neither the file nor its journal exists" in r.stderr


def test_the_eta_comes_from_the_cost_model_and_ignores_the_pause_between_processes(tmp_path):
    """A sweep stopped, left for 8 s and resumed: status's ETA scales the cost model's estimate of the
    runs left by what recent runs took against theirs (their own wall seconds), so the pause does
    not enter it: the factor after the pause is the factor before it, within noise (one measured
    over the span of the records, pause included, would be several times larger)."""
    config, out = tmp_path / "slow.ini", tmp_path / "slow.h5"
    config.write_text(SLOW)

    def run_until(args, rows):
        sweep = subprocess.Popen([PROGRAM, *args, "--progress", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        deadline = time.monotonic() + 120
        while sweep.poll() is None and time.monotonic() < deadline:
            m = re.search(r"rows: (\d+) of 24 done", status(str(out)).stdout)
            if m and int(m.group(1)) >= rows:
                break
            time.sleep(0.1)
        sweep.send_signal(2)  # SIGINT: a checkpoint, exit 3
        sweep.communicate(timeout=120)
        assert sweep.returncode == 3, "the sweep ended before it could be stopped: make it slower"
        r = status(str(out))
        factor = re.search(r"ETA .* after the last record \(the cost model's estimate of the runs left, times ([0-9.e+-]+)",
                           r.stdout)
        assert factor, r.stdout
        return float(factor.group(1))

    before = run_until(["--config", str(config), "--output", str(out)], 4)
    time.sleep(8)
    after = run_until(["--resume", str(out)], 10)
    assert 0.5 * before < after < 2 * before, (before, after)
