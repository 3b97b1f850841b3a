#!/usr/bin/env bash
# Runs the paper and phase-diagram jobs on all local cores and makes the README's figures
# (docs/figures/). About a minute on 2 cores after the build.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out=${ICL_FIGURES_WORK:-results}
mkdir -p "$out" docs/figures
analyze() { /usr/bin/python3 analysis/icl_analyze.py "$@" > /dev/null; }
for job in paper_figure convergence_phase covariate_shift_phase robustness_panel; do
  mpiexec --oversubscribe -n "$(nproc)" build/icl-sweep --config "jobs/$job.ini" --output "$out/$job.h5" --force --progress 0
done
analyze "$out/paper_figure.h5" "$out/paper_figure"
analyze "$out/convergence_phase.h5" "$out/convergence_phase" --phase kappa sigma --metric gf_time --no-curves
analyze "$out/covariate_shift_phase.h5" "$out/covariate_shift_phase" --phase shift_param d_over_n --metric lsa_theory_norm --no-curves
analyze "$out/robustness_panel.h5" "$out/robustness_panel" --panel 40 --no-curves
cp "$out/paper_figure/error_vs_m_covariate_isotropic.png" docs/figures/paper_test_isotropic.png
cp "$out/paper_figure/error_vs_m_covariate_random_4.png" docs/figures/paper_test_random_4.png
cp "$out/paper_figure/convergence.png" docs/figures/paper_convergence.png
cp "$out/convergence_phase/phase_kappa_sigma.png" docs/figures/convergence_phase.png
cp "$out/covariate_shift_phase/phase_shift_param_d_over_n.png" docs/figures/covariate_shift_phase.png
cp "$out/robustness_panel/panel_m40.png" docs/figures/robustness_panel.png
ls -l docs/figures
