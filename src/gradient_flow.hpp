#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <string_view>
#include <vector>

#include "cancellation.hpp"
#include "population_loss.hpp"
#include "random_stream.hpp"
#include "training_status.hpp"

namespace icl {

// euler: explicit, fixed step bounded by the flow's stiffness at its limit.
// rk45: Dormand-Prince 5(4), explicit and error-controlled: accurate, but its step is
//       bounded by the fastest mode, so stiff spectra cost millions of steps.
// rosenbrock: the A-stable Kaps-Rentrop Rosenbrock 4(3) pair with Shampine's coefficients,
//       error-controlled, with the flow's exact Jacobian: stiffness costs nothing.
enum class Integrator { euler, rk45, rosenbrock };

Integrator parse_integrator(std::string_view name);  // throws InputError
std::string_view to_string(Integrator integrator);

struct FlowOptions {
  Integrator integrator = Integrator::rosenbrock;
  double tol = 1e-8;            // stop when ||A - A*||_F / ||A*||_F <= tol
  double t_max = 1e9;           // flow time limit
  std::int64_t max_steps = 100'000'000;
  int trajectory_points = 64;
  double rtol = 1e-7;           // local relative error of the adaptive integrators
};

struct TrajectorySample {
  double time, loss, excess, rel_err;  // excess = L - L*, computed without cancellation
};

struct FlowResult {
  TrainingStatus status = TrainingStatus::diverged;  // converged, max_time, max_steps or diverged
  double time = 0.0;
  std::int64_t steps = 0;
  double loss_final = 0.0, loss_min = 0.0, rel_err = 0.0, balance_drift = 0.0;
  double u = 0.0;
  Eigen::MatrixXd U;  // standard basis
  Eigen::MatrixXd A;  // u U^T, the trained attention matrix
  // trajectory_points samples, log-spaced in time, the first at t = 0 and the last at the
  // final state; padded with NaN when the run took fewer steps than that.
  std::vector<TrajectorySample> trajectory;
};

// Theta Theta^T of the paper's initialisation: M M^T / ||M M^T||_F, M with i.i.d. N(0,1).
Eigen::MatrixXd initial_gram(int d, Stream& stream, CancelCheck cancelled = nullptr);

// Gradient flow of the population loss in (u, U) from u = sigma, U = sigma * gram. Polls
// `cancelled` every step and throws Cancelled when it says so.
FlowResult gradient_flow(const PopulationLoss& loss, double sigma, const Eigen::MatrixXd& gram,
                         const FlowOptions& options, CancelCheck cancelled = nullptr);

}  // namespace icl
