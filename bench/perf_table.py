"""The README's performance table, measured in one run on this machine (README, "Performance").

    /usr/bin/python3 bench/perf_table.py [--build build] [--before OLD_BUILD] [--rounds 3] [--readme] [--json OUT.json]

Measures, side by side in one run, medians over --rounds alternating rounds (with --before, an
older build directory with its bench/ programs, every figure for both builds, alternating within
each round, in two columns and as speed-ups):
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


def core_bench(build):
    """One repetition of every kernel benchmark of `build`: name -> its entry."""
    out = run([f"{build}/bench/core_bench", "--benchmark_filter=MonteCarlo|LeastSquares|EigenGemm|Normals|TrainStiff/2$",
               "--benchmark_format=json"]).stdout
    return {b["run_name"]: b for b in json.loads(out)["benchmarks"] if b.get("run_type") == "iteration"}


def medians(entries):
    """The median of every numeric field over rounds of core_bench (name -> entry)."""
    out = {}
    for name in entries[0]:
        out[name] = {k: statistics.median(e[name][k] for e in entries) if isinstance(v, (int, float)) else v
                     for k, v in entries[0][name].items()}
    return out


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


def measure(builds, rounds):
    """Every figure for each build, the builds alternating within each round. Returns
    (figures per build label, rows: (what, {label: text}))."""
    med = statistics.median
    labels = [label for label, _ in builds]
    figures = {label: {} for label in labels}  # name -> (value, unit, "higher" or "lower" is better)
    rows = []

    def row(what, texts):
        rows.append((what, texts))

    # 1. The kernel.
    entries = {label: [] for label in labels}
    numpy_rates = []
    for _ in range(rounds):
        for label, build in builds:
            entries[label].append(core_bench(build))
        numpy_rates.append(fields(run([PYTHON, "bench/numpy_mc_reference.py", "--d", "20", "--m", "40"]).stdout.splitlines()[-1])["prompts_per_second"])
    numpy_rate = med(numpy_rates)
    cb = {label: medians(entries[label]) for label in labels}
    for d, m in ((20, 40), (20, 10)):
        texts = {}
        for label in labels:
            c = cb[label]
            gemm = c["BM_EigenGemm/20"]["GFLOPS"] * 1e9
            normal_rate = c["BM_Normals"]["normals_per_second"]
            b = c[f"BM_MonteCarlo/{d}/{m}"]
            rate = b["prompts_per_second"]
            limit = b["flops_per_prompt"] / gemm + b["normals_per_prompt"] / normal_rate
            figures[label][f"mc_prompts_per_s_d{d}_m{m}"] = (rate, "prompts/s", "higher")
            texts[label] = (f"{rate:,.0f} prompts/s, {b['GFLOPS']:.1f} GFLOP/s; **{1 / (rate * limit):.1f}×** the machine's limit "
                            f"({b['flops_per_prompt']:,.0f} flops at Eigen's 20×20 GEMM rate + {b['normals_per_prompt']:.0f} normals at the plain-loop rate)")
        row(f"Monte-Carlo evaluation (conditional), d = {d}, M = {m}, all 8 predictors", texts)
    row("NumPy, batched normal equations, plain sampling, d = 20, M = 40 (`bench/numpy_mc_reference.py`)",
        {label: f"{numpy_rate:,.0f} prompts/s: icl-sweep **{figures[label]['mc_prompts_per_s_d20_m40'][0] / numpy_rate:.1f}×** the prompts/s, "
                "each of its prompts worth 13–570× more (docs/theory.md §9)" for label in labels})
    row("normals, plain loop / Eigen GEMM 20×20 / 256×256",
        {label: f"{cb[label]['BM_Normals']['normals_per_second'] / 1e6:.0f} M/s / {cb[label]['BM_EigenGemm/20']['GFLOPS']:.1f} / "
                f"{cb[label]['BM_EigenGemm/256']['GFLOPS']:.1f} GFLOP/s" for label in labels})
    row("OLS + ridge kernel (Gram, two Cholesky, solves), one 40×20 prompt",
        {label: f"{cb[label]['BM_LeastSquares/20/40']['GFLOPS']:.1f} GFLOP/s" for label in labels})
    texts = {}
    for label in labels:
        train = cb[label]["BM_TrainStiff/2"]
        texts[label] = f"{train['real_time']:.2f} {train['time_unit']}, {train['steps']:.0f} steps"
        figures[label]["train_stiff_ms"] = (train["real_time"], train["time_unit"], "lower")
        figures[label]["normals_per_s"] = (cb[label]["BM_Normals"]["normals_per_second"], "1/s", "higher")
    row("training, geometric(100), d = 10, N = 80, tol 1e-8, `rosenbrock`", texts)

    # 2. Whole sweeps against NumPy/SciPy.
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("mild", "stiff"):
            ini = sweep_ini(tmp, name)
            out = os.path.join(tmp, f"{name}.h5")
            t = {key: [] for key in ("np", "np_t")}
            t.update({(label, key): [] for label in labels for key in ("icl", "icl_t")})
            for _ in range(rounds):
                for label, build in builds:
                    program = f"{build}/icl-sweep"
                    same = precision_time.exactly(program, 5000)
                    # The same precision on the same predictors as the NumPy script: the model and OLS.
                    target = ["--eval.mc_prompts", str(precision_time.CAP), "--eval.target_rel_se", "0.01", "--eval.knn_k", "0",
                              "--eval.target_predictors", "model, ols"]
                    t[(label, "icl")].append(icl_sweep_seconds(program, ini, out, same))
                    t[(label, "icl_t")].append(icl_sweep_seconds(program, ini, out, target))
                t["np"].append(numpy_sweep_seconds(name, ["--prompts", "5000"]))
                t["np_t"].append(numpy_sweep_seconds(name, ["--target-rel-se", "0.01", "--cap", str(precision_time.CAP), "--knn-k", "0"]))
            m = {k: med(v) for k, v in t.items()}
            for label in labels:
                figures[label][f"sweep_{name}_s"] = (m[(label, "icl")], "s", "lower")
                figures[label][f"sweep_{name}_target_s"] = (m[(label, "icl_t")], "s", "lower")
            row(f"32-row sweep, {name} spectra ({precision_time.SWEEPS[name]}), 5,000 prompts a row: icl-sweep / NumPy+SciPy",
                {label: f"{m[(label, 'icl')]:.2f} s / {m['np']:.2f} s: **{m['np'] / m[(label, 'icl')]:.1f}×**" for label in labels})
            row("same, to a 1% relative standard error on the model and OLS (the target waiting for those two, as the NumPy script does; k-NN off)",
                {label: f"{m[(label, 'icl_t')]:.2f} s / {m['np_t']:.2f} s: **{m['np_t'] / m[(label, 'icl_t')]:.0f}×**" for label in labels})

    # 3. Two ranks against one.
    walls = {(label, ranks): [] for label in labels for ranks in (1, 2)}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(max(1, rounds // 3)):
            for label, build in builds:
                for ranks in (1, 2):
                    walls[(label, ranks)].append(timed(["mpiexec", "--oversubscribe", "-n", str(ranks), f"{build}/icl-sweep", "--config",
                                                        "jobs/bench_scaling.ini", "--output", f"{tmp}/np{ranks}.h5", "--force", "--progress", "0"]))
    texts = {}
    for label in labels:
        w1, w2 = med(walls[(label, 1)]), med(walls[(label, 2)])
        figures[label]["scaling_2_ranks"] = (w1 / w2, "x", "higher")
        texts[label] = f"{w1:.1f} s / {w2:.1f} s: **{w1 / w2:.2f}×**"
    row("`jobs/bench_scaling.ini` (768 rows): 1 rank / 2 ranks", texts)

    # 4. Rank 0: cost per row and per message, batched and not; peak memory against rows.
    # Marginal costs over 4,000 -> 24,000 rows (the start and the end of a sweep cancel), medians
    # over the rounds; a message's cost from the difference one run per message makes.
    per_row = {label: [] for label in labels}
    per_row_single = {label: [] for label in labels}
    per_message = {label: [] for label in labels}
    large = {}
    for _ in range(rounds):
        for label, build in builds:
            b_small, b_large = (dispatch(build, 4, n, 50, True) for n in (4000, 24000))
            s_small, s_large = (dispatch(build, 4, n, 50, False) for n in (4000, 24000))
            rows_added = b_large["runs"] - b_small["runs"]
            per_row[label].append((b_large["rank0_cpu_s"] - b_small["rank0_cpu_s"]) / rows_added * 1e6)
            per_row_single[label].append((s_large["rank0_cpu_s"] - s_small["rank0_cpu_s"]) / rows_added * 1e6)
            extra = (s_large["messages"] - s_small["messages"]) - (b_large["messages"] - b_small["messages"])
            per_message[label].append((per_row_single[label][-1] - per_row[label][-1]) * rows_added / max(extra, 1))
            large[label] = (b_large, s_large)
    texts, message_texts, peak_texts = {}, {}, {}
    for label, build in builds:
        b_large, s_large = large[label]
        figures[label]["rank0_us_per_row"] = (med(per_row[label]), "us", "lower")
        texts[label] = (f"**{med(per_row[label]):.1f} µs** batched ({b_large['messages']:.0f} messages, {b_large['runs_per_message']:.0f} runs each); "
                        f"{med(per_row_single[label]):.1f} µs one run per message ({s_large['messages']:.0f} messages)")
        message_texts[label] = f"{med(per_message[label]):.1f} µs"
        peaks = [(n, dispatch(build, 1, n, 0, True)["rank0_peak_mib"]) for n in (10**3, 10**4, 10**5, 10**6)]
        peak_texts[label] = " / ".join(f"{mib:.0f}" for _, mib in peaks) + " MiB"
        figures[label]["rank0_peak_mib_1e6"] = (peaks[-1][1], "MiB", "lower")
    row("rank 0's coordinating thread per row (journal, HDF5, messages), 4 ranks, marginal over 4,000 → 24,000 rows", texts)
    row("rank 0 per message (from the difference)", message_texts)
    row("rank 0's peak memory at 10³ / 10⁴ / 10⁵ / 10⁶ rows (dispatch_bench, 1 rank)", peak_texts)

    # 5. Start-up.
    versions = {label: [] for label in labels}
    ones = {label: [] for label in labels}
    with tempfile.TemporaryDirectory() as tmp:
        ini = os.path.join(tmp, "one.ini")
        with open(ini, "w") as f:
            f.write("[sweep]\nname = one\n[grid]\nd = 2\nn_train = 4\n[eval]\nmc_prompts = 16\n")
        for _ in range(10):
            for label, build in builds:
                versions[label].append(timed([f"{build}/icl-sweep", "--version"]))
                ones[label].append(icl_sweep_seconds(f"{build}/icl-sweep", ini, os.path.join(tmp, "one.h5"), []))
    for label in labels:
        figures[label]["startup_version_ms"] = (med(versions[label]) * 1e3, "ms", "lower")
        figures[label]["one_row_sweep_ms"] = (med(ones[label]) * 1e3, "ms", "lower")
    row("start-up: `icl-sweep --version` / a one-row sweep, whole process, without mpirun",
        {label: f"{med(versions[label]) * 1e3:.0f} ms / {med(ones[label]) * 1e3:.0f} ms" for label in labels})
    return figures, rows


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default="build")
    p.add_argument("--before", help="an older build directory (with bench/), measured beside --build, alternating")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--readme", action="store_true", help="replace the table in README.md")
    p.add_argument("--json", help="write the figures here (for bench/compare.py)")
    args = p.parse_args()
    build = os.path.abspath(os.path.join(ROOT, args.build))
    builds = [("after", build)]
    if args.before:
        builds.append(("before", os.path.abspath(args.before)))
    figures, rows = measure(builds, args.rounds)

    version = lambda b: run([f"{b}/icl-sweep", "--version"]).stdout.strip()
    if args.before:
        head = [f"Measured by `/usr/bin/python3 bench/perf_table.py --before {args.before} --readme` on {machine()}; "
                f"medians of {args.rounds} rounds, the two builds alternating in each: "
                f"this build ({version(build)}) and before ({version(builds[1][1])}).", "",
                "| what | this build | before |", "|---|---|---|"]
        body = [f"| {what} | {texts['after']} | {texts['before']} |" for what, texts in rows]
        speedups = [f"{name}: {figures['after'][name][0] / figures['before'][name][0]:.2f}" if figures["after"][name][2] == "higher"
                    else f"{name}: {figures['before'][name][0] / figures['after'][name][0]:.2f}"
                    for name in figures["after"] if name in figures["before"]]
        tail = ["", "This build against before, each figure as a speed-up (above 1: this build better): " + "; ".join(speedups) + "."]
    else:
        head = [f"Measured by `/usr/bin/python3 bench/perf_table.py --readme` on {machine()}; "
                f"medians of {args.rounds} rounds, every figure of one run side by side.", "",
                "| what | figure |", "|---|---|"]
        body = [f"| {what} | {texts['after']} |" for what, texts in rows]
        tail = []
    text = "\n".join(head + body + tail)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            out = {"machine": machine(), "figures": {k: {"value": v, "unit": u, "better": b}
                                                    for k, (v, u, b) in figures["after"].items()}}
            if args.before:
                out["figures_before"] = {k: {"value": v, "unit": u, "better": b} for k, (v, u, b) in figures["before"].items()}
            json.dump(out, f, indent=1)
    if args.readme:
        path = os.path.join(ROOT, "README.md")
        readme = open(path).read()
        if BEGIN not in readme or END not in readme:
            sys.exit(f"{path}: no {BEGIN} ... {END} markers")
        head_text, rest = readme.split(BEGIN, 1)
        _, tail_text = rest.split(END, 1)
        with open(path, "w") as f:
            f.write(head_text + BEGIN + "\n" + text + "\n" + END + tail_text)


if __name__ == "__main__":
    main()
