#!/usr/bin/env bash
# Installs, builds, runs the demo sweep (jobs/demo.ini) on all local cores, prints its table.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpiexec --oversubscribe -n "$(nproc)" build/icl-sweep --config jobs/demo.ini --output demo.h5 --force
/usr/bin/python3 -m icl_sweep demo-table demo.h5
