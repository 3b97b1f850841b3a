#!/usr/bin/env bash
# Runs the paper and phase-diagram jobs on all local cores and makes the README's figures
# (docs/figures/). About two minutes on 2 cores after the build.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out=${ICL_FIGURES_WORK:-results}
mkdir -p "$out" docs/figures
analyze() { /usr/bin/python3 -m icl_sweep analyze "$@" > /dev/null; }
plot() { /usr/bin/python3 -m icl_sweep plot "$@" > /dev/null; }
for job in paper_figure convergence_phase covariate_shift_phase robustness_panel covariate_scale_question; do
  mpiexec --oversubscribe -n "$(nproc)" build/icl-sweep --config "jobs/$job.ini" --output "$out/$job.h5" --force --progress 0
done
analyze "$out/paper_figure.h5" --out "$out/paper_figure" --no-curves
# The paper's layout: a panel per test covariance, a curve per N and predictor, error / d.
for spectrum in isotropic random_exp; do
  plot "$out/paper_figure.h5" --x m_test --hue n_train,predictor --facet shift --fix spectrum=$spectrum \
    --metric error_per_d --predictors model,ols --out "docs/figures/paper_trained_$spectrum.png" \
    --title "LSA trained on $([ $spectrum = isotropic ] && echo 'Λ = I' || echo 'random Λ = diag(Exp(1))') by gradient flow, d = 20"
done
plot "$out/covariate_scale_question.h5" --x shift_param --facet n_train --out docs/figures/covariate_scale_question.png
analyze "$out/convergence_phase.h5" --out "$out/convergence_phase" --phase kappa sigma --metric gf_time --no-curves
analyze "$out/covariate_shift_phase.h5" --out "$out/covariate_shift_phase" --phase shift_param d_over_n --metric lsa_theory_norm --no-curves
analyze "$out/robustness_panel.h5" --out "$out/robustness_panel" --panel 40 --no-curves
cp "$out/paper_figure/convergence.png" docs/figures/paper_convergence.png
cp "$out/convergence_phase/phase_kappa_sigma.png" docs/figures/convergence_phase.png
cp "$out/covariate_shift_phase/phase_shift_param_d_over_n.png" docs/figures/covariate_shift_phase.png
cp "$out/robustness_panel/panel_m40.png" docs/figures/robustness_panel.png
ls -l docs/figures
