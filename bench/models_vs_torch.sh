#!/usr/bin/env bash
# Training throughput of the C++ trainer (build/bench/models_bench) against the same models in
# PyTorch from Python (bench/torch_reference.py), one thread each, OpenBLAS pinned to one thread
# on both sides, in alternating rounds so that both see the same machine state. Prints each
# side's median ms per step over all rounds and the ratio.
# Usage: bash bench/models_vs_torch.sh [rounds (4)] [build dir (build)]
set -euo pipefail
cd "$(dirname "$0")/.."
/usr/bin/python3 - "${1:-4}" "${2:-build}" <<'PY'
import json, re, statistics, subprocess, sys
rounds, build = int(sys.argv[1]), sys.argv[2]
steps = {"lsa": 2000, "gpt2": 50}
filters = {"lsa": "BM_TrainLsa", "gpt2": "BM_TrainGpt2"}
cpp = {m: [] for m in steps}
python = {m: [] for m in steps}
for _ in range(rounds):
    for model in steps:
        out = subprocess.run([f"{build}/bench/models_bench", f"--benchmark_filter={filters[model]}",
                              "--benchmark_repetitions=3", "--benchmark_format=json"],
                             check=True, capture_output=True, text=True).stdout
        for b in json.loads(out)["benchmarks"]:
            if b.get("run_type") == "iteration":
                cpp[model].append(b["real_time"] / steps[model])  # ms per step
        out = subprocess.run(["/usr/bin/python3", "bench/torch_reference.py", "--model", model,
                              "--threads", "1"], check=True, capture_output=True, text=True).stdout
        python[model].append(float(re.search(r"([0-9.]+) ms/step", out).group(1)))
tokens = {"lsa": 21, "gpt2": 41}  # tokens per prompt; batch 64
for model in steps:
    c, p = statistics.median(cpp[model]), statistics.median(python[model])
    print(f"{model}: C++ {c:.3f} ms/step ({64 / c * 1e3:,.0f} prompts/s, {64 * tokens[model] / c * 1e3:,.0f} tokens/s); "
          f"PyTorch from Python {p:.3f} ms/step ({64 / p * 1e3:,.0f} prompts/s); "
          f"C++ is {p / c:.2f}x as fast ({len(cpp[model])} and {len(python[model])} runs in {rounds} rounds)")
PY
