"""The README's performance table, measured in one run on this machine (README, "Performance").

    /usr/bin/python3 bench/perf_table.py [--build build] [--rounds 3] [--readme] [--json OUT.json]

Measures, side by side in one run, medians over --rounds alternating rounds:
  - the Monte-Carlo kernel (build/bench/core_bench: prompts/s, GFLOP/s, the machine's limit from
    Eigen's GEMM rate and the normals' rate) against the NumPy reference
    (bench/numpy_mc_reference.py, batched normal equations);
  - the two 32-row sweeps of the performance issue, whole processes: icl-sweep against the NumPy/SciPy
    script bench/numpy_sweep_reference.py, with the same prompt counts (5000 a row) and to the same
    accuracy (1% relative standard error on the model's and OLS's risk, k-NN off);
  - 2 ranks against 1 (jobs/bench_scaling.ini, about a minute on one rank);
  - rank 0's coordinating cost per row and per message, batched against one run per message, and
    its peak memory against the row count (build/bench/dispatch_bench);
  - start-up: `icl-sweep --version` and a one-row sweep.
Prints a markdown table; --readme replaces the table between the markers in README.md; --json writes
the figures for bench/compare.py (regressions against bench/baseline.json).
"""
import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import precision_time  # noqa: E402  (the sweeps' definitions)

ENV = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1",
           OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
PYTHON = "/usr/bin/python3"
BEGIN, END = "<!-- perf-table:begin -->", "<!-- perf-table:end -->"


def machine():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def run(cmd, **kw):
    return subprocess.run(cmd, env=ENV, check=True, capture_output=True, text=True, cwd=ROOT, **kw)


def timed(cmd):
    t0 = time.monotonic()
    run(cmd)
    return time.monotonic() - t0


def fields(line):
    return {k: float(v) if re.fullmatch(r"[-+0-9.eE]+", v) else v for k, v in re.findall(r"(\w+)=(\S+)", line)}


def core_bench(build, rounds):
    out = run([f"{build}/bench/core_bench", "--benchmark_filter=MonteCarlo|LeastSquares|EigenGemm|Normals|TrainStiff/2$",
               f"--benchmark_repetitions={rounds}", "--benchmark_report_aggregates_only=true",
               "--benchmark_format=json"]).stdout
    medians = {}
    for b in json.loads(out)["benchmarks"]:  # one repetition has no aggregates: its own entry
        if b.get("aggregate_name") == "median" or (rounds == 1 and b.get("run_type") == "iteration"):
            medians[b["run_name"]] = b
    return medians


def sweep_ini(tmp, name):
    return precision_time.config(tmp, name, precision_time.SWEEPS[name])


def icl_sweep_seconds(program, ini, out, extra):
    for f in (out, out + ".journal"):
        if os.path.exists(f):
            os.remove(f)
    return timed([program, "--config", ini, "--output", out, "--progress", "0"] + extra)


def numpy_sweep_seconds(name, extra):
    t0 = time.monotonic()
    run([PYTHON, "bench/numpy_sweep_reference.py", "--sweep", name, "--quiet"] + extra)
    return time.monotonic() - t0  # the whole process, as for icl-sweep


def dispatch(build, ranks, runs, run_us, batching):
    cmd = ["mpiexec", "--oversubscribe", "-n", str(ranks), f"{build}/bench/dispatch_bench", "--runs", str(runs),
           "--run-us", str(run_us), "--output", os.path.join(tempfile.gettempdir(), f"perf_dispatch_{os.getpid()}.h5")]
    if not batching:
        cmd.append("--one-run-per-message")
    lines = [l for l in run(cmd).stdout.splitlines() if l.startswith("dispatch ")]
    return fields(lines[-1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default="build")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--readme", action="store_true", help="replace the table in README.md")
    p.add_argument("--json", help="write the figures here (for bench/compare.py)")
    args = p.parse_args()
    build = os.path.abspath(os.path.join(ROOT, args.build))
    program = f"{build}/icl-sweep"
    med = statistics.median
    figures = {}  # name -> (value, unit, "higher" or "lower" is better)
    rows = []

    # 1. The kernel.
    cb = core_bench(build, args.rounds)
    gemm = cb["BM_EigenGemm/20"]["GFLOPS"] * 1e9
    normal_rate = cb["BM_Normals"]["normals_per_second"]
    numpy_rates = []
    for _ in range(args.rounds):
        numpy_rates.append(fields(run([PYTHON, "bench/numpy_mc_reference.py", "--d", "20", "--m", "40"]).stdout.splitlines()[-1])["prompts_per_second"])
    numpy_rate = med(numpy_rates)
    for d, m in ((20, 40), (20, 10)):
        b = cb[f"BM_MonteCarlo/{d}/{m}"]
        rate = b["prompts_per_second"]
        limit = b["flops_per_prompt"] / gemm + b["normals_per_prompt"] / normal_rate
        figures[f"mc_prompts_per_s_d{d}_m{m}"] = (rate, "prompts/s", "higher")
        rows.append((f"Monte-Carlo evaluation (conditional), d = {d}, M = {m}, all 8 predictors",
                     f"{rate:,.0f} prompts/s, {b['GFLOPS']:.1f} GFLOP/s; **{1 / (rate * limit):.1f}×** the machine's limit "
                     f"({b['flops_per_prompt']:,.0f} flops at Eigen's 20×20 GEMM rate + {b['normals_per_prompt']:.0f} normals at the plain-loop rate)"))
    rows.append(("NumPy, batched normal equations, plain sampling, d = 20, M = 40 (`bench/numpy_mc_reference.py`)",
                 f"{numpy_rate:,.0f} prompts/s: icl-sweep **{figures['mc_prompts_per_s_d20_m40'][0] / numpy_rate:.1f}×** the prompts/s, each of its prompts worth 13–570× more (docs/theory.md §9)"))
    rows.append(("normals, plain loop / Eigen GEMM 20×20 / 256×256",
                 f"{normal_rate / 1e6:.0f} M/s / {gemm / 1e9:.1f} / {cb['BM_EigenGemm/256']['GFLOPS']:.1f} GFLOP/s"))
    ls = cb["BM_LeastSquares/20/40"]["GFLOPS"]
    rows.append(("OLS + ridge kernel (Gram, two Cholesky, solves), one 40×20 prompt", f"{ls:.1f} GFLOP/s"))
    train = cb["BM_TrainStiff/2"]
    rows.append(("training, geometric(100), d = 10, N = 80, tol 1e-8, `rosenbrock`",
                 f"{train['real_time']:.2f} {train['time_unit']}, {train['steps']:.0f} steps"))
    figures["train_stiff_ms"] = (train["real_time"], train["time_unit"], "lower")
    figures["normals_per_s"] = (normal_rate, "1/s", "higher")

    # 2. Whole sweeps against NumPy/SciPy.
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("mild", "stiff"):
            ini = sweep_ini(tmp, name)
            out = os.path.join(tmp, f"{name}.h5")
            same = precision_time.exactly(program, 5000)
            # The same precision on the same predictors as the NumPy script: the model and OLS.
            target = ["--eval.mc_prompts", str(precision_time.CAP), "--eval.target_rel_se", "0.01", "--eval.knn_k", "0",
                      "--eval.target_predictors", "model, ols"]
            t = {"icl": [], "np": [], "icl_t": [], "np_t": []}
            for _ in range(args.rounds):
                t["icl"].append(icl_sweep_seconds(program, ini, out, same))
                t["np"].append(numpy_sweep_seconds(name, ["--prompts", "5000"]))
                t["icl_t"].append(icl_sweep_seconds(program, ini, out, target))
                t["np_t"].append(numpy_sweep_seconds(name, ["--target-rel-se", "0.01", "--cap", str(precision_time.CAP), "--knn-k", "0"]))
            m = {k: med(v) for k, v in t.items()}
            figures[f"sweep_{name}_s"] = (m["icl"], "s", "lower")
            figures[f"sweep_{name}_target_s"] = (m["icl_t"], "s", "lower")
            rows.append((f"32-row sweep, {name} spectra ({precision_time.SWEEPS[name]}), 5,000 prompts a row: icl-sweep / NumPy+SciPy",
                         f"{m['icl']:.2f} s / {m['np']:.2f} s: **{m['np'] / m['icl']:.1f}×**"))
            rows.append(("same, to a 1% relative standard error on the model and OLS (the target waiting for those two, as the NumPy script does; k-NN off)",
                         f"{m['icl_t']:.2f} s / {m['np_t']:.2f} s: **{m['np_t'] / m['icl_t']:.0f}×**"))

    # 3. Two ranks against one.
    walls = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(max(1, args.rounds // 3)):
            for ranks in (1, 2):
                walls[ranks].append(timed(["mpiexec", "--oversubscribe", "-n", str(ranks), program, "--config",
                                           "jobs/bench_scaling.ini", "--output", f"{tmp}/np{ranks}.h5", "--force", "--progress", "0"]))
    w1, w2 = med(walls[1]), med(walls[2])
    figures["scaling_2_ranks"] = (w1 / w2, "x", "higher")
    rows.append(("`jobs/bench_scaling.ini` (768 rows): 1 rank / 2 ranks", f"{w1:.1f} s / {w2:.1f} s: **{w1 / w2:.2f}×**"))

    # 4. Rank 0: cost per row and per message, batched and not; peak memory against rows.
    # Marginal costs over 4,000 -> 24,000 rows (the start and the end of a sweep cancel), medians
    # over the rounds; a message's cost from the difference one run per message makes.
    per_row, per_row_single, per_message, large = [], [], [], None
    for _ in range(args.rounds):
        b_small, b_large = (dispatch(build, 4, n, 50, True) for n in (4000, 24000))
        s_small, s_large = (dispatch(build, 4, n, 50, False) for n in (4000, 24000))
        rows_added = b_large["runs"] - b_small["runs"]
        per_row.append((b_large["rank0_cpu_s"] - b_small["rank0_cpu_s"]) / rows_added * 1e6)
        per_row_single.append((s_large["rank0_cpu_s"] - s_small["rank0_cpu_s"]) / rows_added * 1e6)
        extra = (s_large["messages"] - s_small["messages"]) - (b_large["messages"] - b_small["messages"])
        per_message.append((per_row_single[-1] - per_row[-1]) * rows_added / max(extra, 1))
        large, large_single = b_large, s_large
    figures["rank0_us_per_row"] = (med(per_row), "us", "lower")
    rows.append(("rank 0's coordinating thread per row (journal, HDF5, messages), 4 ranks, marginal over 4,000 → 24,000 rows",
                 f"**{med(per_row):.1f} µs** batched ({large['messages']:.0f} messages, {large['runs_per_message']:.0f} runs each); "
                 f"{med(per_row_single):.1f} µs one run per message ({large_single['messages']:.0f} messages)"))
    rows.append(("rank 0 per message (from the difference)", f"{med(per_message):.1f} µs"))
    peaks = []
    for n in (10**3, 10**4, 10**5, 10**6):
        peaks.append((n, dispatch(build, 1, n, 0, True)["rank0_peak_mib"]))
    rows.append(("rank 0's peak memory at 10³ / 10⁴ / 10⁵ / 10⁶ rows (dispatch_bench, 1 rank)",
                 " / ".join(f"{mib:.0f}" for _, mib in peaks) + " MiB"))
    figures["rank0_peak_mib_1e6"] = (peaks[-1][1], "MiB", "lower")

    # 5. Start-up.
    versions = [timed([program, "--version"]) for _ in range(10)]
    with tempfile.TemporaryDirectory() as tmp:
        ini = os.path.join(tmp, "one.ini")
        with open(ini, "w") as f:
            f.write("[sweep]\nname = one\n[grid]\nd = 2\nn_train = 4\n[eval]\nmc_prompts = 16\n")
        ones = [icl_sweep_seconds(program, ini, os.path.join(tmp, "one.h5"), []) for _ in range(10)]
    figures["startup_version_ms"] = (med(versions) * 1e3, "ms", "lower")
    figures["one_row_sweep_ms"] = (med(ones) * 1e3, "ms", "lower")
    rows.append(("start-up: `icl-sweep --version` / a one-row sweep, whole process, without mpirun",
                 f"{med(versions) * 1e3:.0f} ms / {med(ones) * 1e3:.0f} ms"))

    table = [f"Measured by `/usr/bin/python3 bench/perf_table.py --readme` on {machine()}; "
             f"medians of {args.rounds} rounds, every figure of one run side by side.", "",
             "| what | figure |", "|---|---|"] + [f"| {a} | {b} |" for a, b in rows]
    text = "\n".join(table)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine(), "figures": {k: {"value": v, "unit": u, "better": b}
                                                         for k, (v, u, b) in figures.items()}}, f, indent=1)
    if args.readme:
        path = os.path.join(ROOT, "README.md")
        readme = open(path).read()
        if BEGIN not in readme or END not in readme:
            sys.exit(f"{path}: no {BEGIN} ... {END} markers")
        head, rest = readme.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        with open(path, "w") as f:
            f.write(head + BEGIN + "\n" + text + "\n" + END + tail)


if __name__ == "__main__":
    main()
