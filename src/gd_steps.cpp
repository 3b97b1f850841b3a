#include "gd_steps.hpp"

#include <cmath>
#include <stdexcept>

namespace icl {

void gd_steps_matrix(const GdSteps& steps, const Eigen::MatrixXd& sigma, Eigen::MatrixXd& g, Eigen::MatrixXd& scratch) {
  g.setZero();
  for (const double alpha : steps.alpha) {
    scratch.noalias() = sigma * g;                   // S G_l
    g.noalias() -= alpha * (steps.base * scratch);   // - P_l S G_l
    g += alpha * steps.base;                         // + P_l
  }
}

double gd_steps_risk(const GdSteps& steps, const std::vector<Design>& designs, int m, double noise_sd,
                     CancelCheck cancelled) {
  if (designs.empty()) throw std::invalid_argument("gd_steps_risk: no designs");
  const Eigen::Index d = steps.base.rows();
  Eigen::MatrixXd g(d, d), scratch(d, d), residual(d, d), gs(d, d);
  const Eigen::MatrixXd identity = Eigen::MatrixXd::Identity(d, d);
  const double noise = noise_sd * noise_sd / m;
  double sum = 0.0;
  for (const Design& design : designs) {
    throw_if_cancelled(cancelled);
    gd_steps_matrix(steps, design.sigma, g, scratch);
    gs.noalias() = g * design.sigma;
    residual = identity - gs;
    // tr(L R R^T) = <L R, R>; tr(L G S G^T) = <L G S, G>.
    scratch.noalias() = design.query_covariance * residual;
    double e = (scratch.array() * residual.array()).sum();
    if (noise > 0.0) {
      scratch.noalias() = design.query_covariance * gs;
      e += noise * (scratch.array() * g.array()).sum();
    }
    sum += e;
  }
  return sum / static_cast<double>(designs.size());
}

GdFit fit_gd_steps(const Eigen::MatrixXd& base, int layers, const std::vector<Design>& designs, int m,
                   double noise_sd, CancelCheck cancelled) {
  if (layers < 1) throw std::invalid_argument("fit_gd_steps: at least one step");
  GdFit fit;
  fit.steps.base = base;
  fit.steps.alpha.assign(static_cast<std::size_t>(layers), 0.0);
  fit.steps.alpha[0] = 1.0;
  const auto risk = [&] { return gd_steps_risk(fit.steps, designs, m, noise_sd, cancelled); };
  fit.risk = risk();
  while (fit.sweeps < kGdFitMaxSweeps) {
    ++fit.sweeps;
    const double before = fit.risk;
    for (double& a : fit.steps.alpha) {
      // The exact minimiser of the parabola through a - 1, a, a + 1.
      const double centre = a, r0 = fit.risk;
      a = centre - 1.0;
      const double minus = risk();
      a = centre + 1.0;
      const double plus = risk();
      const double curvature = plus - 2.0 * r0 + minus;
      a = centre;
      if (!(curvature > 0.0)) continue;
      const double next = centre - 0.5 * (plus - minus) / curvature;
      a = next;
      const double r = risk();
      if (r < r0) {
        fit.risk = r;
      } else {
        a = centre;  // rounding: keep the lower
      }
    }
    if (before - fit.risk <= kGdFitTolerance * std::abs(before)) {
      fit.converged = true;
      break;
    }
  }
  return fit;
}

}  // namespace icl
