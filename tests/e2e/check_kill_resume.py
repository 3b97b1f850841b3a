"""End-to-end durability: a multi-rank sweep killed with SIGKILL at random moments (also during
its resumes) and finished with --resume equals a clean run in every column but `seconds` and
`rank`, bitwise; a stop signal checkpoints and exits 3 in bounded time; --resume refuses a
different config."""
import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

from sweep_runner import TIMING_COLUMNS, MPI_ENV, check, finish, run_sweep


def descendants(pid):
    """pid and every process below it, from /proc (Open MPI may move ranks out of our group)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def rank_of(pid):
    """The MPI rank of a process started by mpiexec, or None."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            for item in f.read().split(b"\0"):
                if item.startswith(b"OMPI_COMM_WORLD_RANK="):
                    return int(item.split(b"=", 1)[1])
    except OSError:
        pass
    return None


def wait_until_journaling(out, extra):
    """Waits until a sweep writing `out` has its journal, then `extra` seconds more."""
    deadline = time.monotonic() + 30
    while not os.path.exists(out + ".journal") and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(extra)


def stop_and_time(proc, send):
    """Calls send() to stop a running sweep; returns the seconds until it exited (30 at most)."""
    sent = time.monotonic()
    send()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        kill_tree(proc)
    return time.monotonic() - sent


def kill_tree(proc):
    for p in descendants(proc.pid):
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(descendants(proc.pid)) > 1:
        time.sleep(0.05)


def start(program, args, ranks):
    cmd = [program] + args
    if ranks:
        cmd = ["mpiexec", "--oversubscribe", "-n", str(ranks)] + cmd
    return subprocess.Popen(cmd, env=dict(os.environ, **MPI_ENV), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def deterministic(path):
    with h5py.File(path, "r") as f:
        r = f["results"][:]
        cols = {c: r[c].tobytes() for c in r.dtype.names if c not in TIMING_COLUMNS}
        traj = {k: f["trajectories"][k][:].tobytes() for k in f["trajectories"]}
        return cols, traj, int(f.attrs["completed"]), int((r["done"] == 1).sum())


def record_starts(journal):
    """The offsets of the record magics after a journal's header."""
    header_end = 8 + 8 + int.from_bytes(journal[8:16], "little") + 8
    return [i for i in range(header_end, len(journal)) if journal[i:i + 4] == b"RUN2"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--program", required=True)
    p.add_argument("--config", required=True)
    p.add_argument("--trials", type=int, default=6)
    p.add_argument("--seed", type=int, default=int(os.environ.get("ICL_KILL_SEED", "2024")))
    args = p.parse_args()
    rng = random.Random(args.seed)
    prog = args.program
    base = ["--config", args.config, "--progress", "0", "--eval.mc_prompts", "60000"]
    with tempfile.TemporaryDirectory() as tmp:
        ref = os.path.join(tmp, "reference.h5")
        t0 = time.monotonic()
        r = run_sweep(prog, base + ["--output", ref], ranks=2)
        duration = time.monotonic() - t0
        check(r.returncode == 0, f"reference run: exit {r.returncode} {r.stderr[-1000:]}")
        reference = deterministic(ref)
        rows_total = len(reference[0]["row"]) // 8
        print(f"reference: {rows_total} rows in {duration:.1f} s on 2 ranks")

        lost_total = 0
        for trial in range(args.trials):
            out = os.path.join(tmp, f"trial{trial}.h5")
            kills = []
            proc = start(prog, base + ["--output", out], 2)
            moment = rng.uniform(0.05, 0.9) * duration
            time.sleep(moment)
            kill_tree(proc)
            kills.append(round(moment, 2))
            # Every other trial is killed again while resuming.
            if trial % 2 == 1:
                proc = start(prog, base + ["--output", out, "--resume"], 2)
                moment = rng.uniform(0.05, 0.6) * duration
                time.sleep(moment)
                kill_tree(proc)
                kills.append(round(moment, 2))
            r = run_sweep(prog, base + ["--output", out, "--resume"], ranks=rng.choice([1, 2, 3]))
            check(r.returncode == 0, f"trial {trial}: resume exit {r.returncode}: {r.stderr[-1000:]}")
            if r.returncode != 0:
                continue
            got = deterministic(out)
            lost = rows_total - got[3]
            lost_total += lost
            check(got[0] == reference[0], f"trial {trial} (killed at {kills} s): results differ from the clean run")
            check(got[1] == reference[1], f"trial {trial}: trajectories differ from the clean run")
            check(got[2] == 1, f"trial {trial}: completed != 1")
            check(not os.path.exists(out + ".journal"), f"trial {trial}: journal left behind")
            print(f"trial {trial}: killed at {kills} s, resumed, {lost} rows lost, bitwise equal: {got[0] == reference[0]}")
        check(lost_total == 0, f"{lost_total} rows lost")

        # A stop signal: checkpoint, exit 3 within a bounded time, then resume.
        for sig, ranks in ((signal.SIGTERM, None), (signal.SIGUSR1, 2), (signal.SIGINT, None)):
            out = os.path.join(tmp, f"signal{int(sig)}.h5")
            proc = start(prog, base + ["--output", out], ranks)
            time.sleep(0.4 * duration)
            waited = stop_and_time(proc, lambda: proc.send_signal(sig))
            check(proc.returncode == 3, f"{sig.name}: exit {proc.returncode}, stderr {proc.stderr.read()[-500:]}")
            check(waited < 10, f"{sig.name}: took {waited:.1f} s to stop")
            # The one command that starts or continues continues here.
            mode = "--resume-or-start" if sig == signal.SIGINT else "--resume"
            r = run_sweep(prog, base + ["--output", out, mode], ranks=2)
            check(r.returncode == 0 and deterministic(out)[0] == reference[0], f"{sig.name}: {mode} did not finish the sweep")
            print(f"{sig.name} (ranks {ranks}): exit {proc.returncode} {waited:.2f} s after the signal; resumed")

        # A damaged journal loses only the damaged records: stopped mid-sweep, its journal gets a
        # flipped byte inside one record and garbage between two others; --resume says where,
        # keeps the original aside until the end, and finishes bitwise equal to the clean run.
        out = os.path.join(tmp, "damaged.h5")
        proc = start(prog, base + ["--output", out], 2)
        time.sleep(0.6 * duration)
        stop_and_time(proc, lambda: proc.send_signal(signal.SIGUSR1))  # mpiexec passes USR1 on
        check(proc.returncode == 3, f"damaged journal: the stop ended with exit {proc.returncode}")
        journal = bytearray(open(out + ".journal", "rb").read())
        starts = record_starts(journal)
        check(len(starts) >= 3, f"damaged journal: only {len(starts)} records to damage")
        if len(starts) >= 3:
            journal[starts[1] + 40] ^= 0xFF                        # inside the second record
            journal[starts[-1]:starts[-1]] = b"\x00garbage\xff" * 3  # before the last record
            open(out + ".journal", "wb").write(journal)
            r = run_sweep(prog, base + ["--output", out, "--resume"], ranks=2)
            check(r.returncode == 0, f"damaged journal: resume exit {r.returncode}: {r.stderr[-800:]}")
            check(f"at byte {starts[1]}" in r.stderr and "damaged" in r.stderr and ".journal.damaged" in r.stderr,
                  f"damaged journal: the damage was not reported: {r.stderr!r}")
            check(deterministic(out)[0] == reference[0], "damaged journal: results differ from the clean run")
            check(not os.path.exists(out + ".journal.damaged"), "damaged journal: the kept copy outlived the sweep")
            print(f"damaged journal ({len(starts)} records, one flipped byte, 27 bytes of garbage): "
                  f"reported, resumed bitwise equal to the clean run")

        # Another sweep's records spliced into a journal (sweep B, another seed, stopped part way;
        # its records put before sweep A's own, after A's header) are no records of A: --resume
        # says so, computes their runs again, and finishes bitwise equal to A's clean run.
        journals = {}
        for name, extra in (("a", []), ("b", ["--sweep.seed", "11"])):
            out = os.path.join(tmp, f"splice_{name}.h5")
            proc = start(prog, base + extra + ["--output", out], 2)
            time.sleep(0.5 * duration)
            stop_and_time(proc, lambda: proc.send_signal(signal.SIGUSR1))
            check(proc.returncode == 3, f"splice: sweep {name} stopped with exit {proc.returncode}")
            journals[name] = open(out + ".journal", "rb").read()
        a, b = journals["a"], journals["b"]
        a_starts, b_starts = record_starts(a), record_starts(b)
        check(len(b_starts) >= 1, "splice: sweep b journaled no record")
        if b_starts:
            out = os.path.join(tmp, "splice_a.h5")
            open(out + ".journal", "wb").write(a[:a_starts[0] if a_starts else len(a)] + b[b_starts[0]:] +
                                               (a[a_starts[0]:] if a_starts else b""))
            r = run_sweep(prog, base + ["--output", out, "--resume"], ranks=2)
            check(r.returncode == 0, f"splice: resume exit {r.returncode}: {r.stderr[-800:]}")
            check(f"{len(b_starts)} record(s) of another sweep" in r.stderr,
                  f"splice: the foreign records were not reported: {r.stderr!r}")
            check(deterministic(out)[0] == reference[0], "splice: results differ from sweep a's clean run")
            check(not os.path.exists(out + ".journal.damaged"), "splice: the kept copy outlived the sweep")
            print(f"spliced journal ({len(a_starts)} records of sweep a after {len(b_starts)} of sweep b): "
                  f"reported, resumed bitwise equal to sweep a's clean run")

        # A stop that reaches one worker rank only stops the whole sweep, cleanly.
        out = os.path.join(tmp, "worker_signal.h5")
        proc = start(prog, base + ["--output", out], 2)
        time.sleep(0.4 * duration)
        workers = [p for p in descendants(proc.pid) if rank_of(p) == 1]
        check(len(workers) == 1, f"worker rank not found among {descendants(proc.pid)}")
        waited = stop_and_time(proc, lambda: [os.kill(p, signal.SIGUSR1) for p in workers])
        check(proc.returncode == 3 and waited < 10, f"worker-only stop: exit {proc.returncode} after {waited:.1f} s")
        r = run_sweep(prog, base + ["--output", out, "--resume"], ranks=2)
        check(r.returncode == 0 and deterministic(out)[0] == reference[0], "worker-only stop: resume did not finish")
        print(f"SIGUSR1 to rank 1 only: exit {proc.returncode} {waited:.2f} s after the signal; resumed")

        # A stop is honoured within seconds in the middle of a long condition (50 million
        # prompts each), on one rank; and when it reaches rank 0 alone, rank 0 cancels the
        # worker's run.
        huge = [("50000000" if a == "60000" else a) for a in base]
        for ranks, target in ((None, "the process"), (2, "rank 0 only")):
            out = os.path.join(tmp, f"long{ranks}.h5")
            proc = start(prog, huge + ["--output", out], ranks)
            wait_until_journaling(out, 1.0)
            pids = [p for p in descendants(proc.pid) if rank_of(p) == 0] if ranks else [proc.pid]
            waited = stop_and_time(proc, lambda: [os.kill(p, signal.SIGTERM) for p in pids])
            check(proc.returncode == 3 and waited < 5, f"long run, SIGTERM to {target}: exit {proc.returncode} after {waited:.1f} s")
            print(f"long conditions, SIGTERM to {target}: exit {proc.returncode} {waited:.2f} s after the signal")

        # A stop is honoured within seconds whatever the run's size: at d = 2048 a d x d product
        # is seconds of work as one GEMM (the initial Gram matrix, the eigenbasis changes, the
        # closed forms); SIGTERM at moments spread over such runs, from the initial Gram matrix
        # to the closed forms of rotated and projected covariances.
        big_ini = os.path.join(tmp, "big.ini")
        with open(big_ini, "w") as f:
            f.write("[sweep]\nseed = 3\n[grid]\nd = 2048\nn_train = 20\nspectrum = isotropic, power(1)\n"
                    "[eval]\nshift = none, task_mean(1), covariate_rotate(0.5), half_subspace\nmc_prompts = 100\n")
        latencies = []
        for k, after in enumerate((0.2, 1.0, 2.5, 4.5, 7.0, 10.0, 14.0)):
            out = os.path.join(tmp, f"big{k}.h5")
            proc = start(prog, ["--config", big_ini, "--progress", "0", "--output", out], None)
            wait_until_journaling(out, after)
            if proc.poll() is not None:
                break
            waited = stop_and_time(proc, lambda: proc.send_signal(signal.SIGTERM))
            check(proc.returncode == 3 and waited < 5,
                  f"d = 2048, SIGTERM {after} s into the run: exit {proc.returncode} after {waited:.1f} s")
            latencies.append(waited)
        check(len(latencies) >= 5, f"d = 2048: the run ended before the stops were tried ({len(latencies)} tried)")
        print(f"d = 2048 flow runs, SIGTERM at {len(latencies)} moments: exit 3 after at most "
              f"{max(latencies, default=float('nan')):.2f} s (median {sorted(latencies)[len(latencies) // 2]:.2f} s)")

        # A computation that cannot be interrupted (the eigendecomposition of a 1,600 x 1,600
        # covariance file) is not waited for beyond --stop-grace, on rank 0's own thread too:
        # the checkpoint is written and the program exits 3.
        rng_np = np.random.default_rng(5)
        g = rng_np.standard_normal((1600, 1600)).astype(np.float32)
        matrix = os.path.join(tmp, "matrix.txt")
        np.savetxt(matrix, g @ g.T / 1600 + np.eye(1600, dtype=np.float32), fmt="%.4f")
        with open(big_ini, "w") as f:
            f.write(f"[sweep]\nseed = 3\n[grid]\nd = 1600\nn_train = 20\nspectrum = file({matrix})\n"
                    "[eval]\nmc_prompts = 100\n")
        out = os.path.join(tmp, "eigen.h5")
        proc = start(prog, ["--config", big_ini, "--progress", "0", "--output", out, "--stop-grace", "1"], None)
        wait_until_journaling(out, 0.3)
        waited = stop_and_time(proc, lambda: proc.send_signal(signal.SIGTERM))
        stderr = proc.stderr.read()
        check(proc.returncode == 3 and waited < 6 and "rank(s) 0 did not answer the stop" in stderr,
              f"eigendecomposition, SIGTERM: exit {proc.returncode} after {waited:.1f} s: {stderr[-500:]!r}")
        with h5py.File(out, "r") as f:
            check(int(f.attrs["completed"]) == 0, "eigendecomposition: the checkpoint claims a finished sweep")
        print(f"eigendecomposition at d = 1600 (uninterruptible), SIGTERM: exit {proc.returncode} "
              f"{waited:.2f} s after the signal (--stop-grace 1)")

        # Ctrl-C while the config is validated (here the eigenvalues of the 1,600 x 1,600 file,
        # seconds of work): exit 3 once validation ends, and nothing written.
        out = os.path.join(tmp, "validation.h5")
        proc = start(prog, ["--config", big_ini, "--progress", "0", "--output", out], None)
        time.sleep(0.7)
        check(not os.path.exists(out + ".journal"), "validation: the sweep started before the signal")
        waited = stop_and_time(proc, lambda: proc.send_signal(signal.SIGINT))
        stderr = proc.stderr.read()
        check(proc.returncode == 3 and "nothing written" in stderr and not os.path.exists(out)
              and not os.path.exists(out + ".journal"),
              f"SIGINT during validation: exit {proc.returncode}, files {os.listdir(tmp)}: {stderr[-300:]!r}")
        print(f"SIGINT during validation: exit {proc.returncode} {waited:.2f} s after the signal, nothing written")

        # A deadline needs no signal: --stop-after stops handing out work and stops the runs
        # in hand 15 s before it, checkpoints and exits 3 in time; the resume finishes bitwise.
        out = os.path.join(tmp, "deadline_long.h5")
        t0 = time.monotonic()
        r = run_sweep(prog, huge + ["--output", out, "--stop-after", "17"], ranks=2)
        took = time.monotonic() - t0
        check(r.returncode == 3 and took < 17 and "the deadline" in r.stderr,
              f"--stop-after 17 on long runs: exit {r.returncode} after {took:.1f} s: {r.stderr[-300:]!r}")
        print(f"--stop-after 17 (long conditions, 2 ranks): exit {r.returncode} after {took:.1f} s")
        if duration > 3:
            out = os.path.join(tmp, "deadline.h5")
            r = run_sweep(prog, base + ["--output", out, "--stop-after", "16"], ranks=2)
            check(r.returncode == 3, f"--stop-after 16: exit {r.returncode}: {r.stderr[-300:]!r}")
            r = run_sweep(prog, base + ["--output", out, "--resume"], ranks=2)
            check(r.returncode == 0 and deterministic(out)[0] == reference[0], "--stop-after: resume did not finish bitwise")
            print("--stop-after 16 on the reference sweep: exit 3, resumed bitwise equal")

        # A rank that does not answer (SIGSTOP) is given up on after --stop-grace: the
        # checkpoint is written, the job exits 3, and the resume finishes bitwise equal.
        out = os.path.join(tmp, "unanswered.h5")
        proc = start(prog, base + ["--output", out, "--stop-grace", "2"], 2)
        time.sleep(0.4 * duration)
        tree = descendants(proc.pid)
        workers = [p for p in tree if rank_of(p) == 1]
        leader = [p for p in tree if rank_of(p) == 0]
        check(len(workers) == 1 and len(leader) == 1, f"ranks not found among {tree}")
        os.kill(workers[0], signal.SIGSTOP)
        waited = stop_and_time(proc, lambda: os.kill(leader[0], signal.SIGTERM))
        stderr = proc.stderr.read()
        check(proc.returncode == 3 and waited < 15 and "did not answer the stop" in stderr,
              f"stopped worker: exit {proc.returncode} after {waited:.1f} s: {stderr[-500:]!r}")
        for p in workers:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        r = run_sweep(prog, base + ["--output", out, "--resume"], ranks=2)
        check(r.returncode == 0 and deterministic(out)[0] == reference[0], "stopped worker: resume did not finish")
        print(f"worker stopped (SIGSTOP), SIGTERM to rank 0: exit {proc.returncode} {waited:.2f} s after the signal "
              f"(--stop-grace 2); resumed bitwise equal")

        # One writer per output: a second sweep on a running sweep's output is refused. The first
        # is made long enough (many prompts) to be running still whatever the machine's load.
        out = os.path.join(tmp, "two_writers.h5")
        long_run = [("400000" if a == "60000" else a) for a in base] + ["--output", out]
        proc = start(prog, long_run, None)
        wait_until_journaling(out, 0.2 * duration)
        for mode in ("--resume", "--force"):
            r = run_sweep(prog, long_run + [mode])
            check(r.returncode == 2 and "another icl-sweep" in r.stderr, f"second writer {mode}: exit {r.returncode} {r.stderr!r}")
        check(proc.poll() is None, "the first writer ended before the second was tried")
        stop_and_time(proc, lambda: proc.send_signal(signal.SIGINT))
        check(proc.returncode == 3, f"the first writer was disturbed: exit {proc.returncode}")

        # --resume refuses a different config, naming the key, and writes nothing.
        out = os.path.join(tmp, "differ.h5")
        proc = start(prog, base + ["--output", out], None)
        wait_until_journaling(out, 0.2 * duration)
        kill_tree(proc)
        before = open(out + ".journal", "rb").read()
        r = run_sweep(prog, base + ["--output", out, "--resume", "--eval.knn_k", "5"])
        check(r.returncode == 2, f"different config: exit {r.returncode}")
        check("eval.knn_k" in r.stderr, f"different config: message {r.stderr!r}")
        check(open(out + ".journal", "rb").read() == before, "refused resume changed the journal")
        r = run_sweep(prog, base + ["--output", os.path.join(tmp, "none.h5"), "--resume"])
        check(r.returncode == 2, f"resume without a journal: exit {r.returncode}")
        print(f"kill/resume trials: {args.trials}, rows lost: {lost_total}")
    return finish("durability")


if __name__ == "__main__":
    sys.exit(main())
