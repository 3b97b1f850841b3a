#include "monte_carlo.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "least_squares.hpp"
#include "paired_layer_risk.hpp"

namespace icl {
namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;
using Query = TestDistribution::Query;
using Quadrants = TestDistribution::Quadrants;

// One prompt's design: the covariance it was drawn with (per-prompt laws), its covariates X and
// their quadrant signs, the factorisations of least squares and ridge, and what the conditional
// errors make of them, each made at most once a prompt, on first use. It is shared by every
// condition whose test law draws its designs alike (design_key): they see the same X.
class PromptDesign {
 public:
  PromptDesign(const TestDistribution& law, const std::vector<double>& ridge_lambdas)
      : law_(law), sqrt_lambda(law.d), signs(law.d), X(law.m, law.d), ls(law.m, law.d, ridge_lambdas), mixed_(law.m, law.d),
        sigma_(law.d, law.d), sigma2_(law.d, law.d), ols_norms_(law.d), inverse_(law.d, law.d),
        ridge_inverse_(ridge_lambdas.size(), MatrixXd(law.d, law.d)), ridge_norms_(ridge_lambdas.size(), VectorXd(law.d)),
        ridge_made_(ridge_lambdas.size(), false) {
    if (!law.law) sqrt_lambda = law.lambda.cwiseSqrt();
    signs.setOnes();
    for (VectorXd& v : residual_norms_) v.resize(law.d);
  }

  // Draws the design of one prompt from `s` and factors it: the covariance (per-prompt laws), the
  // covariates, their signs (quadrant laws), in that order.
  void draw(Stream& s) {
    const TestDistribution& t = law_;
    if (t.law)
      for (int j = 0; j < t.d; ++j) sqrt_lambda[j] = std::sqrt(t.law_scale * t.law->sample(s));
    for (Eigen::Index j = 0; j < X.size(); ++j) X.data()[j] = s.normal();
    X.array().rowwise() *= sqrt_lambda.transpose().array();
    if (!t.mix_identity) {
      mixed_.noalias() = X * t.mix.transpose();
      X.swap(mixed_);
    }
    if (t.prompt_scale != 1.0) X *= t.prompt_scale;
    if (t.quadrants != Quadrants::none) {
      for (int j = 0; j < t.d; ++j) signs[j] = (s.next() >> 63) ? -1.0 : 1.0;
      X.array() = X.array().abs().rowwise() * signs.transpose().array();
    }
    ls.factor(X);
    sigma_made_ = sigma2_made_ = ols_made_ = false;
    residual_made_.fill(false);
    std::fill(ridge_made_.begin(), ridge_made_.end(), false);
  }

  // Sigma = X^T X / M, both triangles (from the Gram matrix least squares factored, where it has
  // full column rank).
  const MatrixXd& sigma() {
    if (sigma_made_) return sigma_;
    const double m = static_cast<double>(X.rows());
    if (ls.full_column_rank()) {
      sigma_ = ls.gram().selfadjointView<Eigen::Lower>();
      sigma_ /= m;
    } else {
      sigma_.setZero();
      sigma_.selfadjointView<Eigen::Lower>().rankUpdate(X.transpose(), 1.0 / m);
      sigma_.triangularView<Eigen::StrictlyUpper>() = sigma_.transpose();
    }
    sigma_made_ = true;
    return sigma_;
  }
  // Sigma^2 (lower triangle).
  const MatrixXd& sigma2() {
    if (sigma2_made_) return sigma2_;
    sigma2_.setZero();
    sigma2_.selfadjointView<Eigen::Lower>().rankUpdate(sigma());
    sigma2_made_ = true;
    return sigma2_;
  }
  // The squared norms of (c Sigma - I)'s columns, for c = 1 and one other c (one-step GD's eta).
  const VectorXd& residual_norms(double c) {
    const int slot = c == 1.0 ? 0 : 1;
    if (!residual_made_[slot] || residual_scale_[slot] != c) {
      const Eigen::Index d = sigma().rows();
      residual_norms_[slot] = (c * sigma_ - MatrixXd::Identity(d, d)).colwise().squaredNorm().transpose();
      residual_scale_[slot] = c;
      residual_made_[slot] = true;
    }
    return residual_norms_[slot];
  }
  // With full column rank and X^T X = L L^T: the squared norms of L^-1's columns, so that
  // ||L^-1 D||^2 = sum_j d_j^2 norms_j for a diagonal D.
  const VectorXd& ols_inverse_norms() {
    if (ols_made_) return ols_norms_;
    ls.gram_factor_inverse(inverse_);
    ols_norms_ = inverse_.colwise().squaredNorm().transpose();
    ols_made_ = true;
    return ols_norms_;
  }
  // With full column rank: R^-1 for ridge's R = X^T X + M lambda_l I (both triangles), as V^T V
  // with V = L^-1 and R = L L^T, and the squared norms of its columns.
  const MatrixXd& ridge_inverse(std::size_t l) {
    make_ridge(l);
    return ridge_inverse_[l];
  }
  const VectorXd& ridge_inverse_norms(std::size_t l) {
    make_ridge(l);
    return ridge_norms_[l];
  }

 private:
  void make_ridge(std::size_t l) {
    if (ridge_made_[l]) return;
    MatrixXd& r = ridge_inverse_[l];
    ls.ridge_gram_inverse(r, inverse_, l);
    ridge_norms_[l] = r.colwise().squaredNorm().transpose();
    ridge_made_[l] = true;
  }

  const TestDistribution& law_;

 public:
  VectorXd sqrt_lambda, signs;
  MatrixXd X;
  LeastSquares ls;

 private:
  MatrixXd mixed_, sigma_, sigma2_;
  VectorXd ols_norms_;
  MatrixXd inverse_;
  std::vector<MatrixXd> ridge_inverse_;
  std::vector<VectorXd> ridge_norms_;
  std::vector<bool> ridge_made_;
  std::array<VectorXd, 2> residual_norms_;
  std::array<double, 2> residual_scale_{};
  std::array<bool, 2> residual_made_{};
  bool sigma_made_ = false, sigma2_made_ = false, ols_made_ = false;
};

// One condition's buffers for a prompt, sized once: the condition's draws (the task w, the query
// q, the labels y) given the shared design, and its conditional errors' scratch.
struct PromptWorkspace {
  PromptWorkspace(int m, int d)
      : w(d), q(d), z(d), y(m), h(d), a_h(d), w_ols(d), w_ridge(d), xq(m), projection(d), dist(m), order(m), ft(d, d),
        h_model(d, d), h_limit(d, d), hs(d, d), ftg(d, d), b(d, m), ftb(d, m), g_steps(d, d), g_scratch(d, d),
        h_steps(d, d), g_mean(d), q_wide(d, m), w_wide(d, m), d_wide(d, m), qk_t(m, d), solved_t(m, d), dd(m, m),
        x_mu(m), ft_mu(d), c_model(d, d), c_limit(d, d), e_model(d, d), e_limit(d, d), sigma_mu(d), r_mu(d) {}
  VectorXd w, q, z, y, h, a_h, w_ols, w_ridge, xq, projection, dist;
  std::vector<int> order;
  // The conditional error (docs/theory.md §9): F^T with Lambda_q = F F^T, H = F^T A for the LSA
  // predictors, and scratch.
  MatrixXd ft, h_model, h_limit, hs, ftg, b, ftb;
  // The L-step GD reference (docs/theory.md §13): G of the design, scratch, and F^T G.
  MatrixXd g_steps, g_scratch, h_steps;
  VectorXd g_mean;
  // The d x M forms where M < d (ConditionalError::wide): Q = F^T X^T, a predictor's F^T B = W,
  // D = W - Q K^-1, (Q K^-1)^T, a solve's scratch, D^T D, X mu and F^T mu.
  MatrixXd q_wide, w_wide, d_wide, qk_t, solved_t, dd;
  VectorXd x_mu, ft_mu;
  // The LSA forms under a fixed test law (ConditionalError::lsa_form_fixed): C = H^T H (lower
  // triangle) and E = H^T F^T of the model and A*, once a condition; Sigma mu and R^-1 mu once a
  // prompt; ||F||^2.
  MatrixXd c_model, c_limit, e_model, e_limit;
  VectorXd sigma_mu, r_mu;
  double f2 = 0.0;
};

// A risk below this fraction of the zero predictor's counts as zero (OLS without noise and
// M >= d): its relative standard error is not asked for.
constexpr double kNumericalZero = 1e-12;

// Draws the rest of one prompt from `s` given its design g: the task w, the query, the label
// noise, the index of an overlapping query, in that order.
void draw_prompt(const TestDistribution& dist, Stream& s, PromptDesign& g, PromptWorkspace& p) {
  const int d = dist.d;
  const int m = dist.m;
  for (int j = 0; j < d; ++j) p.w[j] = dist.w_mean[j] + dist.w_scale * s.normal();
  for (int j = 0; j < d; ++j) p.z[j] = s.normal();
  p.z.array() *= g.sqrt_lambda.array();
  if (dist.mix_identity)
    p.q = p.z;
  else
    p.q.noalias() = dist.mix * p.z;
  if (dist.query_scale != 1.0) p.q *= dist.query_scale;
  if (dist.quadrants == Quadrants::opposite) p.q = -(p.q.cwiseAbs().cwiseProduct(g.signs));
  p.y.noalias() = g.X * p.w;
  if (dist.noise_sd > 0.0)
    for (int j = 0; j < m; ++j) p.y[j] += dist.noise_sd * s.normal();
  if (dist.query == Query::orthogonal) {
    const double norm = p.q.norm();
    p.xq.noalias() = g.X * p.q;
    g.ls.pseudo_inverse(g.X, p.xq, p.projection);
    p.q -= p.projection;
    p.q *= norm / p.q.norm();
  } else if (dist.query == Query::overlapping) {
    p.q = g.X.row(static_cast<Eigen::Index>(s.below(static_cast<std::uint64_t>(m)))).transpose();
  }
}

// The query's covariance Lambda_q = F F^T of a prompt with covariances sqrt_lambda, as
// F^T = query_scale diag(sqrt lambda) mix^T into ft.
void query_factor(const TestDistribution& dist, const VectorXd& sqrt_lambda, MatrixXd& ft) {
  ft.noalias() = dist.query_scale * (sqrt_lambda.asDiagonal() * dist.mix.transpose());
}

// Each linear predictor's expected squared error given the prompt's design X (and its
// covariance, for per-prompt laws), over the task w, the query x_q and the label noise: with
// y = X w + eps, prediction x_q^T B y, G = B X - I and Lambda_q = F F^T,
//   E[(x_q^T B y - <w, x_q>)^2 | X] = w_scale^2 ||F^T G||^2 + ||F^T G mu||^2 + s^2 ||F^T B||^2.
// For the LSA forms B = A X^T / M, so F^T G = H Sigma - F^T and ||F^T B||^2 = <H Sigma, H> / M
// with H = F^T A; OLS and ridge give B itself. `linear`: the model is lsa.trained (not empty).
// Indexed by Predictor; the sampled ones (k-NN) are not filled; ridge's per lambda in ridge_each.
struct ConditionalErrors {
  std::array<double, kPredictorCount> of{};
  std::vector<double> ridge_each;  // per lambda of McSettings::ridge_lambdas
  double& operator[](std::size_t i) { return of[i]; }
  double operator[](std::size_t i) const { return of[i]; }
};

class ConditionalError {
 public:
  ConditionalError(const TestDistribution& dist, const LsaPredictors& lsa, bool linear)
      : dist_(dist), lsa_(lsa), linear_(linear), steps_(!lsa.gd_steps.alpha.empty()), per_prompt_(static_cast<bool>(dist.law)),
        w2_(dist.w_scale * dist.w_scale), s2_(dist.noise_sd * dist.noise_sd), has_mean_(!dist.w_mean.isZero(0.0)) {}

  // F^T = query_scale diag(sqrt lambda) mix^T, and the H = F^T A that depend on it: once per
  // condition, or per prompt under a per-prompt law.
  void set_query_covariance(const PromptDesign& g, PromptWorkspace& p) const {
    query_factor(dist_, g.sqrt_lambda, p.ft);
    if (linear_) p.h_model.noalias() = p.ft * lsa_.trained;
    p.h_limit.noalias() = p.ft * lsa_.limit;
    if (per_prompt_) return;
    const auto square_of = [](const MatrixXd& h, MatrixXd& c) {
      c.setZero();
      c.selfadjointView<Eigen::Lower>().rankUpdate(h.transpose());
    };
    if (linear_) {
      square_of(p.h_model, p.c_model);
      p.e_model.noalias() = p.h_model.transpose() * p.ft;
    }
    square_of(p.h_limit, p.c_limit);
    p.e_limit.noalias() = p.h_limit.transpose() * p.ft;
    p.f2 = p.ft.squaredNorm();
    if (has_mean_) p.ft_mu.noalias() = p.ft * dist_.w_mean;
  }

  // Into e, whose ridge_each has one entry per lambda of g.ls.
  void operator()(PromptDesign& g, PromptWorkspace& p, ConditionalErrors& e) const {
    if (per_prompt_) set_query_covariance(g, p);
    using enum Predictor;
    LeastSquares& ls = g.ls;
    const double m = static_cast<double>(g.X.rows());
    if (ls.full_row_rank() && !steps_) {  // M < d: no d x d work
      wide(g, p, e);
      return;
    }
    const MatrixXd& sigma = g.sigma();
    if (has_mean_) p.sigma_mu.noalias() = sigma * dist_.w_mean;
    if (per_prompt_) {
      if (linear_) e[index_of(model)] = lsa_form(p, p.h_model, sigma, m);
      e[index_of(lsa_limit)] = lsa_form(p, p.h_limit, sigma, m);
    } else {
      const MatrixXd& sigma2 = g.sigma2();
      if (linear_) e[index_of(model)] = lsa_form_fixed(p, sigma, sigma2, p.h_model, p.c_model, p.e_model, m);
      e[index_of(lsa_limit)] = lsa_form_fixed(p, sigma, sigma2, p.h_limit, p.c_limit, p.e_limit, m);
    }
    if (steps_) {  // x_q^T G h with G of this design: H = F^T G
      gd_steps_matrix(lsa_.gd_steps, sigma, p.g_steps, p.g_scratch);
      if (dist_.mix_identity)
        p.h_steps.noalias() = p.ft.diagonal().asDiagonal() * p.g_steps;
      else
        p.h_steps.noalias() = p.ft * p.g_steps;
      e[index_of(gd_steps)] = lsa_form(p, p.h_steps, sigma, m);
    }
    averaging(g, p, e);
    if (ls.full_column_rank()) {
      least_squares_tall(g, p, e);
    } else {
      ls.pseudo_inverse_matrix(g.X, p.b);
      e[index_of(ols)] = explicit_form(g, p);
      for (std::size_t l = 0; l < ls.ridge_count(); ++l) {
        ls.ridge_matrix(g.X, p.b, l);
        e.ridge_each[l] = explicit_form(g, p);
      }
    }
    e[index_of(zero)] = zero_error(p);
  }

 private:
  // Averaging (A = I) and one-step GD (A = eta I): F^T G = c F^T Sigma - F^T with c = 1 and eta.
  // For a diagonal F = D, ||D (c Sigma - I)||^2 = sum_i d_i^2 ||(c Sigma - I) e_i||^2 from the
  // design's column norms (made once for every condition that shares it), ||F^T B||^2 =
  // c^2 sum_i d_i^2 Sigma_ii / M, O(d) a condition; a mixed F forms F^T Sigma.
  void averaging(PromptDesign& g, PromptWorkspace& p, ConditionalErrors& e) const {
    using enum Predictor;
    const MatrixXd& sigma = g.sigma();
    const double m = static_cast<double>(g.X.rows());
    const double eta = lsa_.gd_eta;
    if (dist_.mix_identity) {
      const auto f2 = p.ft.diagonal().array().square();
      const double noise_avg = (f2 * sigma.diagonal().array()).sum() / m;
      for (const auto& [which, c] : {std::pair{avg, 1.0}, std::pair{gd, eta}}) {
        double r = w2_ * (f2 * g.residual_norms(c).array()).sum() + s2_ * c * c * noise_avg;
        if (has_mean_) r += (p.ft.diagonal().array() * (c * p.sigma_mu - dist_.w_mean).array()).square().sum();
        e[index_of(which)] = r;
      }
      return;
    }
    p.hs.noalias() = p.ft * sigma;
    const double noise_avg = (p.hs.array() * p.ft.array()).sum() / m;
    p.ftg = p.hs - p.ft;
    e[index_of(avg)] = error(p, noise_avg);
    p.ftg = eta * p.hs - p.ft;
    e[index_of(gd)] = error(p, eta * eta * noise_avg);
  }
  // The zero predictor: F^T G = -F^T.
  double zero_error(PromptWorkspace& p) const {
    double r = w2_ * p.ft.squaredNorm();
    if (has_mean_) {
      p.g_mean.noalias() = p.ft * dist_.w_mean;
      r += p.g_mean.squaredNorm();
    }
    return r;
  }

  // OLS and ridge where X has full column rank: X^+ X = I, so G = 0 and ||F^T B||^2 =
  // tr(F^T (X^T X)^-1 F) = ||L^-1 F||^2 with X^T X = L L^T (zero without label noise). Ridge with
  // R = X^T X + M lambda I: G = -M lambda R^-1, and with Y = R^-1 F,
  //   E = w_scale^2 (M lambda)^2 ||Y||^2 + s^2 (tr(F^T Y) - M lambda ||Y||^2) + (M lambda)^2 ||Y^T mu||^2.
  // For a diagonal F = D (an unmixed law) these take L^-1's and R^-1's columns, which the design
  // makes once for every condition that shares it: ||Y||^2 = sum_j d_j^2 ||R^-1 e_j||^2,
  // tr(D Y) = sum_j d_j^2 (R^-1)_jj, Y^T mu = D R^-1 mu, O(d^2) a condition; a mixed F solves.
  void least_squares_tall(PromptDesign& g, PromptWorkspace& p, ConditionalErrors& e) const {
    using enum Predictor;
    LeastSquares& ls = g.ls;
    const bool diagonal = dist_.mix_identity;
    const auto f2 = p.ft.diagonal().array().square();
    e[index_of(ols)] = 0.0;
    if (s2_ > 0.0) {
      if (diagonal) {
        e[index_of(ols)] = s2_ * (f2 * g.ols_inverse_norms().array()).sum();
      } else {
        p.hs = p.ft.transpose();
        ls.solve_gram_factor(p.hs);
        e[index_of(ols)] = s2_ * p.hs.squaredNorm();
      }
    }
    for (std::size_t l = 0; l < ls.ridge_count(); ++l) {
      const double shift = ls.ridge_shift(l);
      double y2, trace, mean2 = 0.0;
      if (diagonal) {
        const MatrixXd& r = g.ridge_inverse(l);
        y2 = (f2 * g.ridge_inverse_norms(l).array()).sum();
        trace = (f2 * r.diagonal().array()).sum();
        if (has_mean_) {
          p.r_mu.noalias() = r * dist_.w_mean;
          mean2 = (p.ft.diagonal().array() * p.r_mu.array()).square().sum();
        }
      } else {
        p.hs = p.ft.transpose();
        ls.solve_ridge_gram(p.hs, l);  // Y
        y2 = p.hs.squaredNorm();
        trace = (p.ft.transpose().array() * p.hs.array()).sum();
        if (has_mean_) {
          p.r_mu.noalias() = p.hs.transpose() * dist_.w_mean;
          mean2 = p.r_mu.squaredNorm();
        }
      }
      e.ridge_each[l] = w2_ * shift * shift * y2 + s2_ * (trace - shift * y2) + shift * shift * mean2;
    }
  }

  // M < d with X X^T = K of full rank: every linear predictor is F^T B = W of size d x M, and
  // with Q = F^T X^T and the projection P onto X's rows, W X - F^T = D X - F^T (I - P) where
  // D = W - Q K^-1, the two parts orthogonal, so that
  //   ||F^T G||^2 = <D^T D, K> + ||F||^2 - <Q, Q K^-1>,   ||F^T B||^2 = ||W||^2,
  // and G mu = W X mu - F^T mu: O(d M^2) a predictor besides forming W (d^2 M for an LSA form,
  // d M^2 for ridge), against O(d^3) through Sigma. OLS has D = 0.
  void wide(PromptDesign& g, PromptWorkspace& p, ConditionalErrors& e) const {
    using enum Predictor;
    LeastSquares& ls = g.ls;
    const double m = static_cast<double>(g.X.rows());
    if (dist_.mix_identity)
      p.q_wide.noalias() = p.ft.diagonal().asDiagonal() * g.X.transpose();
    else
      p.q_wide.noalias() = p.ft * g.X.transpose();
    p.qk_t = p.q_wide.transpose();
    ls.solve_gram(p.qk_t);  // K^-1 Q^T
    const double f2 = p.ft.squaredNorm();
    // ||F^T (I - P)||^2, OLS's noiseless error. Where it is a small part of ||F||^2 the difference
    // keeps few of its digits (none where X's rows span F's range, as under a subspace law with M
    // its rank: zero, which the target must see as zero): then F^T P - F^T directly, O(d^2 M).
    double residual = f2 - (p.q_wide.transpose().array() * p.qk_t.array()).sum();
    if (!(residual > 1e-6 * f2)) {
      p.ftg.noalias() = p.qk_t.transpose() * g.X;
      p.ftg -= p.ft;
      residual = p.ftg.squaredNorm();
    }
    if (has_mean_) {
      p.x_mu.noalias() = g.X * dist_.w_mean;
      p.ft_mu.noalias() = p.ft * dist_.w_mean;
    }
    const MatrixXd& k = ls.gram();  // lower triangle
    const auto error_of_w = [&](bool ols) {  // the predictor with F^T B = p.w_wide
      double r = residual;
      if (!ols) {
        p.d_wide = p.w_wide - p.qk_t.transpose();
        p.dd.setZero();
        p.dd.selfadjointView<Eigen::Lower>().rankUpdate(p.d_wide.transpose());
        r += lower_dot(p.dd, k);  // <D^T D, K>
      }
      r = w2_ * r + s2_ * p.w_wide.squaredNorm();
      if (has_mean_) {
        p.g_mean.noalias() = p.w_wide * p.x_mu;
        p.g_mean -= p.ft_mu;
        r += p.g_mean.squaredNorm();
      }
      return r;
    };
    const auto lsa_form_wide = [&](const MatrixXd& h) {
      p.w_wide.noalias() = h * g.X.transpose();
      p.w_wide /= m;
      return error_of_w(false);
    };
    if (linear_) e[index_of(model)] = lsa_form_wide(p.h_model);
    e[index_of(lsa_limit)] = lsa_form_wide(p.h_limit);
    p.w_wide = p.q_wide / m;  // averaging: A = I
    e[index_of(avg)] = error_of_w(false);
    p.w_wide = (lsa_.gd_eta / m) * p.q_wide;
    e[index_of(gd)] = error_of_w(false);
    p.w_wide = p.qk_t.transpose();
    e[index_of(ols)] = error_of_w(true);
    for (std::size_t l = 0; l < ls.ridge_count(); ++l) {
      p.solved_t = p.q_wide.transpose();
      ls.solve_ridge_gram(p.solved_t, l);  // (K + M lambda I)^-1 Q^T
      p.w_wide = p.solved_t.transpose();
      e.ridge_each[l] = error_of_w(false);
    }
    e[index_of(zero)] = zero_error(p);
  }

  double error(PromptWorkspace& p, double ftb_norm2) const {
    double r = w2_ * p.ftg.squaredNorm() + s2_ * ftb_norm2;
    if (has_mean_) {
      p.g_mean.noalias() = p.ftg * dist_.w_mean;
      r += p.g_mean.squaredNorm();
    }
    return r;
  }
  // <A, B> of two symmetric matrices from their lower triangles.
  static double lower_dot(const MatrixXd& a, const MatrixXd& b) {
    const Eigen::Index n = a.rows();
    double diagonal = 0.0, lower = 0.0;
    for (Eigen::Index j = 0; j < n; ++j) {
      diagonal += a(j, j) * b(j, j);
      lower += a.col(j).tail(n - j - 1).dot(b.col(j).tail(n - j - 1));
    }
    return diagonal + 2.0 * lower;
  }
  // An LSA form under a fixed test law, through C = H^T H and E = H^T F^T made once a condition:
  //   ||H Sigma - F^T||^2 = <C, Sigma^2> - 2 <Sigma, E> + ||F||^2,  <H Sigma, H> = <C, Sigma>,
  // and G mu = H Sigma mu - F^T mu: O(d^2) a prompt besides Sigma^2, which the forms share
  // (one rank-d update, half a d x d product), against a d x d product each.
  double lsa_form_fixed(PromptWorkspace& p, const MatrixXd& sigma, const MatrixXd& sigma2, const MatrixXd& h,
                        const MatrixXd& c, const MatrixXd& e, double m) const {
    const double square = lower_dot(c, sigma2) - 2.0 * (sigma.array() * e.array()).sum() + p.f2;
    double r = w2_ * std::max(0.0, square) + s2_ * lower_dot(c, sigma) / m;
    if (has_mean_) {
      p.g_mean.noalias() = h * p.sigma_mu;
      p.g_mean -= p.ft_mu;
      r += p.g_mean.squaredNorm();
    }
    return r;
  }
  double lsa_form(PromptWorkspace& p, const MatrixXd& h, const MatrixXd& sigma, double m) const {
    p.hs.noalias() = h * sigma;
    p.ftg = p.hs - p.ft;
    return error(p, (p.hs.array() * h.array()).sum() / m);
  }
  double explicit_form(const PromptDesign& g, PromptWorkspace& p) const {
    if (dist_.mix_identity)
      p.ftb.noalias() = p.ft.diagonal().asDiagonal() * p.b;
    else
      p.ftb.noalias() = p.ft * p.b;
    p.ftg.noalias() = p.ftb * g.X;
    p.ftg -= p.ft;
    return error(p, p.ftb.squaredNorm());
  }

  const TestDistribution& dist_;
  const LsaPredictors& lsa_;
  bool linear_, steps_, per_prompt_;
  double w2_, s2_;
  bool has_mean_;
};

// The k rows of X nearest q (squared Euclidean distance, ties to the lower index) into
// p.order[0..k), nearest first. Small k (the usual 1 to 10) keeps the k best in one pass over the
// rows; larger k sorts partially.
void nearest(const MatrixXd& X, const VectorXd& q, int k, PromptWorkspace& p) {
  const int m = static_cast<int>(X.rows());
  p.dist.setZero();
  for (Eigen::Index j = 0; j < X.cols(); ++j) p.dist.array() += (X.col(j).array() - q[j]).square();
  const auto closer = [&](int a, int c) { return p.dist[a] < p.dist[c] || (p.dist[a] == p.dist[c] && a < c); };
  constexpr int kInsertion = 16;
  if (k > kInsertion) {
    std::iota(p.order.begin(), p.order.end(), 0);
    std::partial_sort(p.order.begin(), p.order.begin() + k, p.order.end(), closer);
    return;
  }
  // p.order[0..found) holds the nearest so far, in order; a row enters where it belongs.
  int found = 0;
  for (int i = 0; i < m; ++i) {
    if (found == k && !closer(i, p.order[static_cast<std::size_t>(k - 1)])) continue;
    int at = found < k ? found++ : k - 1;
    while (at > 0 && closer(i, p.order[static_cast<std::size_t>(at - 1)])) {
      p.order[static_cast<std::size_t>(at)] = p.order[static_cast<std::size_t>(at - 1)];
      --at;
    }
    p.order[static_cast<std::size_t>(at)] = i;
  }
}

// Every predictor's prediction for the prompt in p; `model` only when `linear` (the trained model
// is lsa.trained), else a BlockPredictor fills it in later. The linear predictors only when
// `sampled_linear`: otherwise their conditional errors stand in for them. Ridge's per lambda of
// ls, k-NN's per k of `ks` (0: none).
struct Predictions {
  double target = 0.0;
  std::array<double, kPredictorCount> value{};  // indexed by Predictor; the zero predictor's is 0
  std::vector<double> ridge_each, knn_each;
};

void predict(PromptDesign& g, PromptWorkspace& p, const LsaPredictors& lsa, bool linear, bool sampled_linear,
             const std::vector<int>& ks, Predictions& r) {
  using enum Predictor;
  auto& v = r.value;
  v.fill(0.0);
  r.target = p.w.dot(p.q);
  LeastSquares& ls = g.ls;
  if (sampled_linear) {
    p.h.noalias() = g.X.transpose() * p.y;
    p.h /= static_cast<double>(g.X.rows());
    v[index_of(avg)] = p.q.dot(p.h);
    if (linear) {
      p.a_h.noalias() = lsa.trained * p.h;
      v[index_of(model)] = p.q.dot(p.a_h);
    }
    p.a_h.noalias() = lsa.limit * p.h;
    v[index_of(lsa_limit)] = p.q.dot(p.a_h);
    ls.pseudo_inverse(g.X, p.y, p.w_ols);
    v[index_of(ols)] = p.q.dot(p.w_ols);
    for (std::size_t l = 0; l < ls.ridge_count(); ++l) {
      ls.ridge(g.X, p.y, p.w_ridge, l);
      r.ridge_each[l] = p.q.dot(p.w_ridge);
    }
    v[index_of(gd)] = lsa.gd_eta * v[index_of(avg)];
    if (!lsa.gd_steps.alpha.empty()) {
      gd_steps_matrix(lsa.gd_steps, g.sigma(), p.g_steps, p.g_scratch);
      p.a_h.noalias() = p.g_steps * p.h;
      v[index_of(gd_steps)] = p.q.dot(p.a_h);
    }
  }

  // k-NN at each k: the mean label of the k points nearest the query, found once for the largest k
  // and summed nearest first (ties to the lower index).
  const int most = ks.empty() ? 0 : *std::max_element(ks.begin(), ks.end());
  if (most > 0) nearest(g.X, p.q, most, p);
  for (std::size_t j = 0; j < ks.size(); ++j) {
    const int k = ks[j];
    r.knn_each[j] = std::numeric_limits<double>::quiet_NaN();
    if (k == 0) continue;  // no k-NN baseline
    double neighbours = 0.0;
    for (int i = 0; i < k; ++i) neighbours += p.y[p.order[static_cast<std::size_t>(i)]];
    r.knn_each[j] = neighbours / k;
  }
}

// Prompts a block: a sampled model predicts kPromptBlock at a time; otherwise one.
int prompt_block(const BlockPredictor* model) { return model ? kPromptBlock : 1; }

// One condition's estimates over a pass whose designs it shares (monte_carlo_shared): its own
// draws, predictions and conditional errors, accumulated in prompt order, and its (lambda, k)
// pairs each stopped at its own target.
class ConditionPass {
 public:
  ConditionPass(const TestDistribution& dist, const StreamKey& key, const LsaPredictors& lsa, const McSettings& settings,
                const BlockPredictor* model, const PromptDesign& design)
      : dist_(dist), key_(key), lsa_(lsa), settings_(settings), model_(model), lambdas_(settings.ridge_lambdas.size()),
        k_count_(settings.knn_ks.size()), p_(dist.m, dist.d), ridge_acc_(lambdas_), knn_acc_(k_count_),
        // The model is lsa.trained; without either, there is no model to estimate (NaN).
        linear_(model == nullptr && lsa.trained.size() > 0), exact_given_design_(dist.query_given_design()),
        layer_(!lsa.layer.empty()), conditional_error_(dist, lsa, linear_),
        paired_(settings.layer_stride, dist.has_moments()),
        ols_unsettled_(dist.ols_variance_infinite()), stopped_(lambdas_ * k_count_, false), running_(lambdas_ * k_count_),
        out_(lambdas_ * k_count_) {
    static_assert(PairedLayerRisk::kPilot % kPromptBlock == 0, "the pilot ends with a block");
    for (const int k : settings.knn_ks) ks_.push_back(std::min(k, dist.m));  // each k, at most M
    const bool any_knn = std::any_of(ks_.begin(), ks_.end(), [](int k) { return k > 0; });
    // Which predictors are estimated: all but k-NN without k. Which are averaged given the design
    // where the query allows (Estimation::linear): the model only when it is lsa.trained.
    for (const PredictorSpec& spec : kPredictors) {
      const std::size_t i = index_of(spec.id);
      estimated_[i] = (spec.id != Predictor::knn || any_knn) &&
                      (spec.id != Predictor::gd_steps || !lsa.gd_steps.alpha.empty()) &&
                      (spec.id != Predictor::model || linear_ || model != nullptr);
      given_design_[i] = exact_given_design_ && spec.estimation == Estimation::linear && (spec.id != Predictor::model || linear_);
    }
    if (exact_given_design_ && !dist.law) conditional_error_.set_query_covariance(design, p_);
    // The whole layer's error given the design, over w, eps and an independent Gaussian query, or
    // given the design and the query for the other queries (w and eps are independent of both).
    if (layer_) {
      layer_error_.emplace(lsa.layer, dist.m, dist.w_mean, dist.w_scale, dist.noise_sd);
      if (exact_given_design_ && !dist.law) set_layer_query();
    }
    // Prompts go in blocks: each prompt's predictions are kept until the model has predicted the
    // whole block, then every estimate accumulates in prompt order.
    const auto block = static_cast<std::size_t>(prompt_block(model));
    predictions_.resize(block);
    given_design_errors_.resize(block);
    for (Predictions& r : predictions_) {
      r.ridge_each.resize(lambdas_);
      r.knn_each.resize(k_count_);
    }
    for (ConditionalErrors& e : given_design_errors_) e.ridge_each.resize(lambdas_);
    if (layer_) layer_errors_.resize(block);
    if (model) {
      block_x_.resize(block * dist.m * dist.d);
      block_y_.resize(block * dist.m);
      block_q_.resize(block * dist.d);
      block_model_.resize(block);
    }
  }

  bool running() const { return running_ > 0; }

  // Prompt `index`, its design drawn into g, into the block's slot b: the condition's own draws
  // from Stream{seed, covariance, condition, index}, the predictions and the errors given the design.
  void prompt(PromptDesign& g, int index, int b) {
    const auto slot = static_cast<std::size_t>(b);
    Stream s{key_.seed, key_.covariance, key_.condition, static_cast<std::uint64_t>(index)};
    draw_prompt(dist_, s, g, p_);
    predict(g, p_, lsa_, linear_, !exact_given_design_, ks_, predictions_[slot]);
    if (exact_given_design_) conditional_error_(g, p_, given_design_errors_[slot]);
    if (layer_ && exact_given_design_) {
      if (paired_.evaluates(index)) {
        if (dist_.law) set_layer_query();  // the query covariance of this prompt (conditional_error_ set F)
        layer_errors_[slot] = layer_error_->integrated(g.sigma());
      }
    } else if (layer_) {
      layer_errors_[slot] = (*layer_error_)(g.sigma(), p_.q);
    }
    if (model_) {
      const int m = dist_.m, d = dist_.d;
      Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(block_x_.data() + slot * m * d, m, d) = g.X;
      Eigen::Map<VectorXd>(block_y_.data() + slot * m, m) = p_.y;
      Eigen::Map<VectorXd>(block_q_.data() + slot * d, d) = p_.q;
    }
  }

  // After the block of `count` prompts from `first`: the model's predictions, every estimate in
  // prompt order, and the target's check where one falls due.
  void end_block(int first, int count) {
    if (model_) {
      (*model_)(PromptBlock{count, dist_.m, dist_.d, block_x_.data(), block_y_.data(), block_q_.data()}, block_model_.data());
      for (int b = 0; b < count; ++b)
        predictions_[static_cast<std::size_t>(b)].value[index_of(Predictor::model)] = block_model_[static_cast<std::size_t>(b)];
    }
    for (int b = 0; b < count; ++b) {
      const Predictions& r = predictions_[static_cast<std::size_t>(b)];
      const auto sq = [t = r.target](double prediction) { return (prediction - t) * (prediction - t); };
      const ConditionalErrors& e = given_design_errors_[static_cast<std::size_t>(b)];
      for (std::size_t i = 0; i < kPredictorCount; ++i)
        if (estimated_[i] && i != index_of(Predictor::ridge) && i != index_of(Predictor::knn))
          acc_[i].add(given_design_[i] ? e[i] : sq(r.value[i]));
      const bool ridge_given_design = given_design_[index_of(Predictor::ridge)];
      for (std::size_t l = 0; l < lambdas_; ++l) ridge_acc_[l].add(ridge_given_design ? e.ridge_each[l] : sq(r.ridge_each[l]));
      for (std::size_t j = 0; j < k_count_; ++j)
        if (ks_[j] > 0) knn_acc_[j].add(sq(r.knn_each[j]));
      if (!layer_) continue;
      if (!exact_given_design_) {
        layer_acc_.add(layer_errors_[static_cast<std::size_t>(b)]);
        continue;
      }
      paired_.add(first + b, e[index_of(Predictor::lsa_limit)], layer_errors_[static_cast<std::size_t>(b)]);
    }
    used_ += count;
    check_target();
  }

  // Every pair's estimates: where it stopped, else over every prompt drawn.
  std::vector<McRisks> results() {
    for (std::size_t l = 0; l < lambdas_; ++l)
      for (std::size_t j = 0; j < k_count_; ++j)
        if (!stopped_[l * k_count_ + j]) out_[l * k_count_ + j] = estimates(l, j);
    return out_;
  }

 private:
  void set_layer_query() { layer_error_->set_query_factor(p_.ft, dist_.mix_identity); }

  // The estimates so far, as the pair (lambda l, k j) reports them.
  McRisks estimates(std::size_t l, std::size_t j) const {
    McRisks r;
    r.prompts = used_;
    for (std::size_t i = 0; i < kPredictorCount; ++i)
      if (estimated_[i]) r.of[i] = acc_[i].estimate();
    r[Predictor::ridge] = ridge_acc_[l].estimate();
    r[Predictor::knn] = ks_[j] > 0 ? knn_acc_[j].estimate() : RiskEstimate{};
    if (layer_ && exact_given_design_) {
      r.layer = paired_.risk();
      r.layer_gap = paired_.gap();
    } else if (layer_) {
      r.layer = layer_acc_.estimate();
    }
    return r;
  }

  bool within(const Accumulator& a, double zero_risk) const {
    if (a.n == 0) return true;  // not estimated by sampling here
    const RiskEstimate e = a.estimate();
    return e.se <= settings_.target_rel_se * std::max(std::abs(e.mean), kNumericalZero * zero_risk);
  }
  // Every estimate but ridge's and k-NN's.
  bool shared_precise_enough(double r0) const {
    for (std::size_t i = 0; i < kPredictorCount; ++i) {
      // An infinite risk, or an error of infinite variance, has no precision to reach: its estimate
      // is reported, not waited for; nor is a predictor the target does not name (its own standard
      // error says how precise it is).
      if ((i == index_of(Predictor::ols) && ols_unsettled_) || !settings_.target_waits[i]) continue;
      if (i == index_of(Predictor::ridge) || i == index_of(Predictor::knn)) continue;
      if (!within(acc_[i], r0)) return false;
    }
    if (!settings_.target_waits[index_of(Predictor::model)]) return true;  // the whole layer is the model's
    if (!layer_ || !exact_given_design_) return within(layer_acc_, r0);
    const RiskEstimate e = paired_.risk();
    return e.se <= settings_.target_rel_se * std::max(std::abs(e.mean), kNumericalZero * r0);
  }

  // With a target relative standard error, the estimates are checked at prompt counts fixed in
  // advance (every eighth of the count so far, at least kTargetFirstCheck apart, at the first block
  // end past each), so that where sampling stops does not depend on the schedule. Each pair
  // (lambda, k) stops where its own estimates are precise enough, as it would sampled alone: the
  // pass goes on while any pair has not.
  void check_target() {
    if (!(settings_.target_rel_se > 0.0 && used_ >= next_check_ && used_ < settings_.prompts)) return;
    const double r0 = std::abs(acc_[index_of(Predictor::zero)].mean);
    if (shared_precise_enough(r0)) {
      const bool ridge_waits = settings_.target_waits[index_of(Predictor::ridge)];
      const bool knn_waits = settings_.target_waits[index_of(Predictor::knn)];
      for (std::size_t l = 0; l < lambdas_; ++l) {
        if (ridge_waits && !within(ridge_acc_[l], r0)) continue;
        for (std::size_t j = 0; j < k_count_; ++j) {
          const std::size_t pair = l * k_count_ + j;
          if (stopped_[pair] || (knn_waits && !within(knn_acc_[j], r0))) continue;
          out_[pair] = estimates(l, j);
          stopped_[pair] = true;
          --running_;
        }
      }
    }
    next_check_ = used_ + std::max<std::int64_t>(kTargetFirstCheck, used_ / 8);
  }

  const TestDistribution& dist_;
  const StreamKey key_;
  const LsaPredictors& lsa_;
  const McSettings& settings_;
  const BlockPredictor* model_;
  const std::size_t lambdas_, k_count_;
  std::vector<int> ks_;
  PromptWorkspace p_;
  // Indexed by Predictor, but for ridge and k-NN, whose accumulators are per lambda and per k.
  std::array<Accumulator, kPredictorCount> acc_;
  std::vector<Accumulator> ridge_acc_, knn_acc_;
  std::array<bool, kPredictorCount> estimated_{}, given_design_{};
  const bool linear_, exact_given_design_, layer_;
  const ConditionalError conditional_error_;
  std::optional<LayerError> layer_error_;
  // Given the design, the layer's error pairs with A*'s (McRisks::layer); given the query, it is
  // evaluated on every prompt.
  PairedLayerRisk paired_;
  Accumulator layer_acc_;
  std::vector<Predictions> predictions_;
  std::vector<ConditionalErrors> given_design_errors_;
  std::vector<double> layer_errors_, block_x_, block_y_, block_q_, block_model_;
  const bool ols_unsettled_;
  std::int64_t used_ = 0, next_check_ = kTargetFirstCheck;
  std::vector<bool> stopped_;
  std::size_t running_;
  std::vector<McRisks> out_;
};

// Prompt i's design: Stream{seed, design_key, "design", i}.
Stream design_stream(std::uint64_t seed, std::uint64_t key, int index) {
  static const std::uint64_t kDesign = text_key("design");
  return Stream{seed, key, kDesign, static_cast<std::uint64_t>(index)};
}

}  // namespace

std::uint64_t design_key(const TestDistribution& t) {
  // What PromptDesign::draw reads of the law, in bytes, each part marked.
  std::string bytes;
  const auto put = [&](const void* data, std::size_t size) { bytes.append(static_cast<const char*>(data), size); };
  const auto put_value = [&](const auto& value) { put(&value, sizeof value); };
  put_value(t.d);
  put_value(t.m);
  if (t.law) {
    put_value('L');
    put_value(static_cast<int>(t.law->kind));
    put_value(t.law->a);
    put_value(t.law->b);
    put_value(t.law_scale);
  } else {
    put_value('F');
    put(t.lambda.data(), sizeof(double) * static_cast<std::size_t>(t.lambda.size()));
  }
  if (!t.mix_identity) {
    put_value('M');
    put(t.mix.data(), sizeof(double) * static_cast<std::size_t>(t.mix.size()));
  }
  put_value(t.prompt_scale);
  put_value(t.quadrants != Quadrants::none ? 'Q' : 'N');
  return text_key(bytes);
}

std::vector<Design> draw_designs(const TestDistribution& dist, const StreamKey& key, int count,
                                 CancelCheck cancelled) {
  PromptDesign g(dist, std::vector<double>{});
  MatrixXd ft(dist.d, dist.d);
  std::vector<Design> designs;
  designs.reserve(static_cast<std::size_t>(std::max(count, 0)));
  for (int i = 0; i < count; ++i) {
    throw_if_cancelled(cancelled);
    Stream s{key.seed, key.covariance, key.condition, static_cast<std::uint64_t>(i)};
    g.draw(s);
    query_factor(dist, g.sqrt_lambda, ft);
    designs.push_back(Design{g.sigma(), ft.transpose() * ft});
  }
  return designs;
}

std::vector<std::vector<McRisks>> monte_carlo_shared(const std::vector<McCondition>& conditions, const LsaPredictors& lsa,
                                                     const McSettings& settings, const BlockPredictor* model,
                                                     CancelCheck cancelled) {
  const std::size_t pairs = settings.ridge_lambdas.size() * settings.knn_ks.size();
  if (pairs == 0) throw std::invalid_argument("monte_carlo: no ridge lambda or no k-NN k");
  std::vector<std::vector<McRisks>> out(conditions.size(), std::vector<McRisks>(pairs));
  if (settings.prompts <= 0) return out;
  // The conditions that are defined, and the law and seed of the designs they share.
  std::vector<std::size_t> active;
  const TestDistribution* law = nullptr;
  std::uint64_t key = 0, seed = 0;
  for (std::size_t c = 0; c < conditions.size(); ++c) {
    const McCondition& condition = conditions[c];
    if (!condition.dist->defined()) continue;  // NaN
    const std::uint64_t k = design_key(*condition.dist);
    if (!law) {
      law = condition.dist;
      key = k;
      seed = condition.key.seed;
    } else if (k != key || condition.key.seed != seed || condition.dist->m != law->m || condition.dist->d != law->d) {
      throw std::invalid_argument("monte_carlo_shared: the conditions do not draw the same designs");
    }
    active.push_back(c);
  }
  if (active.empty()) return out;
  PromptDesign design(*law, settings.ridge_lambdas);
  std::deque<ConditionPass> passes;
  for (const std::size_t c : active) passes.emplace_back(*conditions[c].dist, conditions[c].key, lsa, settings, model, design);
  const int block = prompt_block(model);
  const auto any_running = [&] { return std::any_of(passes.begin(), passes.end(), [](const ConditionPass& p) { return p.running(); }); };
  for (int used = 0; used < settings.prompts && any_running();) {
    const int count = std::min(block, settings.prompts - used);
    for (int b = 0; b < count; ++b) {
      throw_if_cancelled(cancelled);
      Stream s = design_stream(seed, key, used + b);
      design.draw(s);
      for (ConditionPass& pass : passes)
        if (pass.running()) pass.prompt(design, used + b, b);
    }
    for (ConditionPass& pass : passes)
      if (pass.running()) pass.end_block(used, count);
    used += count;
  }
  for (std::size_t a = 0; a < active.size(); ++a) out[active[a]] = passes[a].results();
  return out;
}

std::vector<McRisks> monte_carlo_each(const TestDistribution& dist, const LsaPredictors& lsa,
                                      const McSettings& settings, const StreamKey& key, const BlockPredictor* model,
                                      CancelCheck cancelled) {
  return monte_carlo_shared({McCondition{&dist, key}}, lsa, settings, model, cancelled).front();
}

McRisks monte_carlo(const TestDistribution& dist, const LsaPredictors& lsa, const McSettings& settings,
                    const StreamKey& key, const BlockPredictor* model, CancelCheck cancelled) {
  if (settings.ridge_lambdas.size() != 1 || settings.knn_ks.size() != 1)
    throw std::invalid_argument("monte_carlo: one ridge lambda and one k (monte_carlo_each takes lists)");
  return monte_carlo_each(dist, lsa, settings, key, model, cancelled).front();
}

}  // namespace icl
