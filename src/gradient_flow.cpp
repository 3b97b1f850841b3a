#include "gradient_flow.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "input_error.hpp"
#include "interruptible_product.hpp"

namespace icl {

Integrator parse_integrator(std::string_view name) {
  if (name == "euler") return Integrator::euler;
  if (name == "rk45") return Integrator::rk45;
  if (name == "rosenbrock") return Integrator::rosenbrock;
  throw InputError("unknown integrator '" + std::string(name) + "' (euler, rk45, rosenbrock)");
}

std::string_view to_string(Integrator integrator) {
  switch (integrator) {
    case Integrator::euler: return "euler";
    case Integrator::rk45: return "rk45";
    case Integrator::rosenbrock: return "rosenbrock";
  }
  return "?";
}

Eigen::MatrixXd initial_gram(int d, Stream& stream, CancelCheck cancelled) {
  Eigen::MatrixXd m(d, d);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = stream.normal();
  Eigen::MatrixXd gram = product(m, m.transpose(), cancelled);
  return gram / gram.norm();
}

namespace {

using Eigen::ArrayXXd;
using Eigen::Map;
using Eigen::MatrixXd;
using Eigen::VectorXd;

// The flow in the eigenbasis. State y = (u, vec Ut), Ut = V^T U V column-major, and with
// K = C^T (so that K_kj multiplies Ut_kj):
//   dUt/dt = -u^2 K .* Ut + u diag(D),   du/dt = -u sum(K .* Ut^2) + D . diag(Ut).
// Each entry of Ut is a linear scalar ODE given u; the Jacobian is an arrow matrix (u couples
// to every entry, the entries only to u and themselves), so (I - a J) x = b costs O(d^2).
class FlowField {
 public:
  explicit FlowField(const PopulationLoss& loss)
      : d_(loss.d()), K_(loss.C.transpose().array()), D_(loss.D), g_(d_, d_), inv_delta_(d_, d_) {}

  int size() const { return 1 + d_ * d_; }

  void rhs(const VectorXd& y, VectorXd& dy) const {
    const double u = y[0];
    const auto U = ut(y);
    auto dU = Map<MatrixXd>(dy.data() + 1, d_, d_);
    dU.array() = (-u * u) * K_ * U.array();
    dU.diagonal() += u * D_;
    dy[0] = -u * (K_ * U.array().square()).sum() + D_.dot(U.diagonal());
  }

  // Prepares solves with W = I - a J(y).
  void factor(const VectorXd& y, double a) {
    const double u = y[0];
    const auto U = ut(y).array();
    g_ = (-2.0 * u) * K_ * U;
    g_.matrix().diagonal() += D_;
    inv_delta_ = (1.0 + (a * u * u) * K_).inverse();
    const double j_uu = -(K_ * U.square()).sum();
    schur_ = 1.0 - a * j_uu - a * a * (g_.square() * inv_delta_).sum();
    a_ = a;
  }

  // x = W^{-1} b; x may alias b.
  void solve(const VectorXd& b, VectorXd& x) const {
    const auto bU = Map<const ArrayXXd>(b.data() + 1, d_, d_);
    const double xu = (b[0] + a_ * (g_ * bU * inv_delta_).sum()) / schur_;
    auto xU = Map<ArrayXXd>(x.data() + 1, d_, d_);
    xU = (bU + (a_ * xu) * g_) * inv_delta_;
    x[0] = xu;
  }

  // Gershgorin bound on the spectral radius of J(y): bounds the stable explicit step.
  double jacobian_radius(const VectorXd& y) {
    factor(y, 0.0);
    const double u = y[0];
    const auto U = ut(y).array();
    const double row_u = (K_ * U.square()).sum() + g_.abs().sum();
    const double rows_U = ((u * u) * K_ + g_.abs()).maxCoeff();
    return std::max(row_u, rows_U);
  }

  Map<const MatrixXd> ut(const VectorXd& y) const { return {y.data() + 1, d_, d_}; }

 private:
  int d_;
  ArrayXXd K_;
  VectorXd D_;
  ArrayXXd g_;          // dJ/du column = du'/dUt row (the Jacobian is symmetric)
  ArrayXXd inv_delta_;  // 1 / (1 + a u^2 K)
  double schur_ = 1.0;
  double a_ = 0.0;
};

// Weighted RMS norm of an error estimate, as in Hairer, Norsett and Wanner.
double error_norm(const VectorXd& err, const VectorXd& y0, const VectorXd& y1, double rtol,
                  double atol) {
  const auto scale = atol + rtol * y0.cwiseAbs().cwiseMax(y1.cwiseAbs()).array();
  return std::sqrt((err.array() / scale).square().mean());
}

struct StepControl {
  double rtol, atol;
  double h;   // the next step to try
  int order;  // of the error estimate's leading term
};

double next_step(double h, double err, int order) {
  const double factor = err == 0.0 ? 5.0 : 0.9 * std::pow(err, -1.0 / order);
  return h * std::clamp(factor, 0.2, 5.0);
}

// Integrators advance (t, y) by one accepted step of at most h_limit and return false when
// the step size underflows. f0 holds f(y) on entry and on exit.
// Kaps-Rentrop Rosenbrock 4(3) with Shampine's A-stable coefficients: four linear solves with
// one Jacobian and three right-hand sides per step.
class Rosenbrock4 {
 public:
  explicit Rosenbrock4(int n) : g1_(n), g2_(n), g3_(n), g4_(n), f1_(n), y1_(n), err_(n) {}
  bool step(FlowField& field, double& t, VectorXd& y, VectorXd& f0, StepControl& c, double h_limit,
            CancelCheck cancelled) {
    constexpr double gam = 0.5, a21 = 2.0, a31 = 48.0 / 25, a32 = 6.0 / 25, c21 = -8.0,
                     c31 = 372.0 / 25, c32 = 12.0 / 5, c41 = -112.0 / 125, c42 = -54.0 / 125,
                     c43 = -2.0 / 5, b1 = 19.0 / 9, b2 = 0.5, b3 = 25.0 / 108, b4 = 125.0 / 108,
                     e1 = 17.0 / 54, e2 = 7.0 / 36, e3 = 0.0, e4 = 125.0 / 108;
    while (true) {  // attempts, each polled: a rejected step at large d is a fraction of a second
      throw_if_cancelled(cancelled);
      const double h = std::min(c.h, h_limit);
      if (h <= 1e-14 * std::max(t, 1e-300)) return false;
      // g_i = (1/(gam h) - J)^{-1} r_i = gam h W^{-1} r_i with W = I - gam h J.
      field.factor(y, gam * h);
      const double s = gam * h;
      g1_ = s * f0;
      field.solve(g1_, g1_);
      y1_ = y + a21 * g1_;
      field.rhs(y1_, f1_);
      g2_ = s * (f1_ + (c21 / h) * g1_);
      field.solve(g2_, g2_);
      y1_ = y + a31 * g1_ + a32 * g2_;
      field.rhs(y1_, f1_);
      g3_ = s * (f1_ + (c31 / h) * g1_ + (c32 / h) * g2_);
      field.solve(g3_, g3_);
      g4_ = s * (f1_ + (c41 / h) * g1_ + (c42 / h) * g2_ + (c43 / h) * g3_);
      field.solve(g4_, g4_);
      y1_ = y + b1 * g1_ + b2 * g2_ + b3 * g3_ + b4 * g4_;
      err_ = e1 * g1_ + e2 * g2_ + e3 * g3_ + e4 * g4_;
      const double e = error_norm(err_, y, y1_, c.rtol, c.atol);
      const double h_next = next_step(h, e, c.order);
      if (std::isfinite(e) && e <= 1.0) {
        t += h;
        y.swap(y1_);
        field.rhs(y, f0);
        c.h = h == h_limit ? std::max(c.h, h_next) : h_next;
        return true;
      }
      c.h = std::isfinite(e) ? h_next : 0.2 * h;
    }
  }

 private:
  VectorXd g1_, g2_, g3_, g4_, f1_, y1_, err_;
};

class DormandPrince45 {
 public:
  explicit DormandPrince45(int n) : k_(7, VectorXd(n)), y1_(n), err_(n) {}
  bool step(FlowField& field, double& t, VectorXd& y, VectorXd& f0, StepControl& c, double h_limit,
            CancelCheck cancelled) {
    static constexpr double a[6][6] = {
        {1.0 / 5},
        {3.0 / 40, 9.0 / 40},
        {44.0 / 45, -56.0 / 15, 32.0 / 9},
        {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729},
        {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656},
        {35.0 / 384, 0.0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84}};
    static constexpr double e[7] = {71.0 / 57600,      0.0,        -71.0 / 16695, 71.0 / 1920,
                                    -17253.0 / 339200, 22.0 / 525, -1.0 / 40};
    k_[0] = f0;
    while (true) {  // attempts, each polled: a rejected step at large d is a fraction of a second
      throw_if_cancelled(cancelled);
      const double h = std::min(c.h, h_limit);
      if (h <= 1e-14 * std::max(t, 1e-300)) return false;
      for (int s = 1; s < 7; ++s) {
        y1_ = y;
        for (int j = 0; j < s; ++j)
          if (a[s - 1][j] != 0.0) y1_ += (h * a[s - 1][j]) * k_[j];
        field.rhs(y1_, k_[s]);
      }
      err_.setZero();
      for (int j = 0; j < 7; ++j)
        if (e[j] != 0.0) err_ += (h * e[j]) * k_[j];
      const double en = error_norm(err_, y, y1_, c.rtol, c.atol);
      const double h_next = next_step(h, en, c.order);
      if (std::isfinite(en) && en <= 1.0) {
        t += h;
        y.swap(y1_);
        f0 = k_[6];
        c.h = h == h_limit ? std::max(c.h, h_next) : h_next;
        return true;
      }
      c.h = std::isfinite(en) ? h_next : 0.2 * h;
    }
  }

 private:
  std::vector<VectorXd> k_;
  VectorXd y1_, err_;
};

class Euler {
 public:
  explicit Euler(double h) : h_(h) {}
  bool step(FlowField& field, double& t, VectorXd& y, VectorXd& f0, StepControl&, double h_limit) {
    const double h = std::min(h_, h_limit);
    y += h * f0;
    t += h;
    field.rhs(y, f0);
    return true;
  }

 private:
  double h_;
};

// Keeps states at geometrically spaced times (ratio 1 + 1e-3), then picks the requested
// number of log-spaced samples among them.
class TrajectoryRecorder {
 public:
  void offer(const TrajectorySample& s) {
    if (kept_.empty() || s.time >= kept_.back().time * (1.0 + 1e-3)) kept_.push_back(s);
  }
  std::vector<TrajectorySample> finish(const TrajectorySample& final_state, int points) {
    if (final_state.time > kept_.back().time) kept_.push_back(final_state);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    std::vector<TrajectorySample> out(points, TrajectorySample{nan, nan, nan, nan});
    const auto n = static_cast<int>(kept_.size());
    if (points <= 0) return out;
    out[0] = kept_[0];
    if (points == 1) return out;
    if (n <= points) {
      std::copy(kept_.begin(), kept_.end(), out.begin());
      return out;
    }
    const double lo = std::log(kept_[1].time);
    const double hi = std::log(kept_[n - 1].time);
    int index = 0;
    for (int i = 1; i < points - 1; ++i) {
      const double target = std::exp(lo + (hi - lo) * (i - 1) / (points - 2));
      int j = index + 1;
      while (j < n - 1 && kept_[j].time < target) ++j;
      index = std::min(j, n - (points - i));  // leave a sample for every later target
      out[i] = kept_[index];
    }
    out[points - 1] = kept_[n - 1];
    return out;
  }

 private:
  std::vector<TrajectorySample> kept_;
};

}  // namespace

FlowResult gradient_flow(const PopulationLoss& loss, double sigma, const MatrixXd& gram,
                         const FlowOptions& options, CancelCheck cancelled) {
  const int d = loss.d();
  FlowField field(loss);
  const VectorXd target = loss.optimum();
  const double target_norm = target.norm();
  const double loss_min = loss.minimum();
  const double u_star = std::sqrt(target_norm);

  VectorXd y(field.size());
  y[0] = sigma;
  Map<MatrixXd>(y.data() + 1, d, d) = sigma * product(product(loss.basis.transpose(), gram, cancelled), loss.basis, cancelled);
  const auto balance = [&](const VectorXd& s) { return s[0] * s[0] - field.ut(s).squaredNorm(); };
  const double balance0 = balance(y);

  MatrixXd at(d, d);  // At = u Ut^T, the attention matrix in the eigenbasis
  const auto sample = [&](double t, const VectorXd& s) {
    at.noalias() = s[0] * field.ut(s).transpose();
    const double excess = loss.excess(at);
    at.diagonal() -= target;
    return TrajectorySample{t, loss_min + excess, excess, at.norm() / target_norm};
  };

  VectorXd f0(field.size());
  field.rhs(y, f0);
  const double u_ref = std::max(sigma, u_star);
  // The explicit step: a twentieth of the stability bound 2/rho at the (scaled) limit point,
  // small enough that Euler's first-order error stays near a percent.
  VectorXd y_ref = VectorXd::Zero(field.size());
  y_ref[0] = u_ref;
  Map<MatrixXd>(y_ref.data() + 1, d, d).diagonal() = target * (u_ref / (u_star * u_star));
  const double h_explicit = 0.1 / field.jacobian_radius(y_ref);

  // Error estimates of the 4(3) and 5(4) pairs: step sizes scale as err^(-1/4), err^(-1/5).
  const int order = options.integrator == Integrator::rk45 ? 5 : 4;
  // Near the limit an explicit pair settles on its stability boundary, where deviations stop
  // decaying and sit at the local tolerance: rk45 must hold it below tol to converge at all.
  const double rtol = options.integrator == Integrator::rk45
                          ? std::max(std::min(options.rtol, 0.01 * options.tol), 1e-12)
                          : options.rtol;
  StepControl control{rtol, rtol * 1e-3 * std::min(sigma, u_star), 0.0, order};
  control.h = std::min(1.0, 0.01 * y.norm() / std::max(f0.norm(), 1e-300));
  Rosenbrock4 rosenbrock(field.size());
  DormandPrince45 dopri(field.size());
  Euler euler(h_explicit);

  FlowResult r;
  r.loss_min = loss_min;
  TrajectoryRecorder recorder;
  double t = 0.0;
  TrajectorySample now = sample(t, y);
  recorder.offer(now);
  while (true) {
    if (!(std::isfinite(now.rel_err) && std::abs(y[0]) <= 1e6 * u_ref)) {
      r.status = TrainingStatus::diverged;
      break;
    }
    if (now.rel_err <= options.tol) {
      r.status = TrainingStatus::converged;
      break;
    }
    if (t >= options.t_max) {
      r.status = TrainingStatus::max_time;
      break;
    }
    if (r.steps >= options.max_steps) {
      r.status = TrainingStatus::max_steps;
      break;
    }
    throw_if_cancelled(cancelled);
    const double h_limit = options.t_max - t;
    bool ok = true;
    switch (options.integrator) {
      case Integrator::rosenbrock: ok = rosenbrock.step(field, t, y, f0, control, h_limit, cancelled); break;
      case Integrator::rk45: ok = dopri.step(field, t, y, f0, control, h_limit, cancelled); break;
      case Integrator::euler: ok = euler.step(field, t, y, f0, control, h_limit); break;
    }
    if (!ok) {
      r.status = TrainingStatus::diverged;
      break;
    }
    ++r.steps;
    now = sample(t, y);
    recorder.offer(now);
  }
  r.time = t;
  r.loss_final = now.loss;
  r.rel_err = now.rel_err;
  r.balance_drift = std::abs(balance(y) - balance0);
  r.u = y[0];
  r.U = product(product(loss.basis, field.ut(y), cancelled), loss.basis.transpose(), cancelled);
  r.A = r.u * r.U.transpose();
  r.trajectory = recorder.finish(now, options.trajectory_points);
  return r;
}

}  // namespace icl
