#!/usr/bin/env bash
# Runs the model-comparison jobs on all local cores and makes their README figures (docs/figures/):
# sampled LSA training against the flow and deep linear transformers (the deep ones about 30 minutes on 2 cores);
# with --paper also jobs/paper_nonlinear.ini (GPT-2; ICL_PAPER_STEPS optimizer steps, default the
# job's own, about an hour on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out=${ICL_FIGURES_WORK:-results}
mkdir -p "$out" docs/figures
run() { mpiexec --oversubscribe -n "$(nproc)" build/icl-sweep --config "jobs/$1.ini" --output "$out/$1.h5" --force --progress 0 "${@:2}"; }
figure() { /usr/bin/python3 -m icl_sweep models "$@" > /dev/null; }
run lsa_training
figure "$out/lsa_training.h5" --out docs/figures/lsa_training.png --training
run deep_linear
figure "$out/deep_linear.h5" --out docs/figures/deep_linear.png --depth
if [ "${1:-}" = --paper ]; then
  run paper_nonlinear ${ICL_PAPER_STEPS:+--train.steps "$ICL_PAPER_STEPS"}
  figure "$out/paper_nonlinear.h5" --out docs/figures/paper_nonlinear.png --paper
fi
ls -l docs/figures
