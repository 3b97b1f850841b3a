#!/usr/bin/env bash
# Runs jobs/bench_scaling.ini on 1 and on 2 ranks and reports the speed-up and the share of
# wall time not spent computing rows (scheduling, HDF5, start-up, idle tail):
#   overhead = 1 - sum(row seconds) / (wall seconds x ranks).
# Usage: bash bench/scaling.sh [build/icl-sweep]
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
/usr/bin/python3 - "${1:-build/icl-sweep}" <<'PY'
import subprocess, sys, tempfile, time
import h5py
program = sys.argv[1]
walls = {}
with tempfile.TemporaryDirectory() as out:
    for ranks in (1, 2):
        start = time.monotonic()
        subprocess.run(["mpiexec", "--oversubscribe", "-n", str(ranks), program, "--config",
                        "jobs/bench_scaling.ini", "--output", f"{out}/np{ranks}.h5", "--force",
                        "--progress", "0"], check=True, capture_output=True)
        walls[ranks] = time.monotonic() - start
        with h5py.File(f"{out}/np{ranks}.h5") as f:
            compute = f["results"]["seconds"].sum()
        print(f"ranks={ranks} wall={walls[ranks]:.2f}s row-seconds={compute:.2f}s "
              f"overhead={1 - compute / (walls[ranks] * ranks):.1%}")
print(f"speed-up, 2 ranks against 1: {walls[1] / walls[2]:.2f}x")
PY
