#include "monte_carlo.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <vector>

#include "least_squares.hpp"
#include "paired_layer_risk.hpp"

namespace icl {
namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;

// One prompt's buffers, sized once per condition.
struct PromptWorkspace {
  PromptWorkspace(int m, int d)
      : sqrt_lambda(d), w(d), X(m, d), mixed(m, d), q(d), z(d), y(m), h(d), a_h(d), w_ols(d),
        w_ridge(d), xq(m), projection(d), signs(d), dist(m), order(m), ft(d, d), sigma(d, d),
        h_model(d, d), h_limit(d, d), hs(d, d), ftg(d, d), b(d, m), ftb(d, m), g_steps(d, d), g_scratch(d, d),
        h_steps(d, d), g_mean(d), q_wide(d, m), w_wide(d, m), d_wide(d, m), qk_t(m, d), solved_t(m, d), dd(m, m),
        x_mu(m), ft_mu(d), c_model(d, d), c_limit(d, d), e_model(d, d), e_limit(d, d), sigma2(d, d), sigma_mu(d) {}
  VectorXd sqrt_lambda, w;
  MatrixXd X, mixed;
  VectorXd q, z, y, h, a_h, w_ols, w_ridge, xq, projection, signs, dist;
  std::vector<int> order;
  // The conditional error (docs/theory.md §9): F^T with Lambda_q = F F^T, the design's
  // Sigma = X^T X / M, H = F^T A for the LSA predictors, and scratch.
  MatrixXd ft, sigma, h_model, h_limit, hs, ftg, b, ftb;
  // The L-step GD reference (docs/theory.md §13): G of the design, scratch, and F^T G.
  MatrixXd g_steps, g_scratch, h_steps;
  VectorXd g_mean;
  // The d x M forms where M < d (ConditionalError::wide): Q = F^T X^T, a predictor's F^T B = W,
  // D = W - Q K^-1, (Q K^-1)^T, a solve's scratch, D^T D, X mu and F^T mu.
  MatrixXd q_wide, w_wide, d_wide, qk_t, solved_t, dd;
  VectorXd x_mu, ft_mu;
  // The LSA forms under a fixed test law (ConditionalError::lsa_form_fixed): C = H^T H (lower
  // triangle) and E = H^T F^T of the model and A*, once a condition; Sigma^2 (lower) and Sigma mu,
  // once a prompt; ||F||^2.
  MatrixXd c_model, c_limit, e_model, e_limit, sigma2;
  VectorXd sigma_mu;
  double f2 = 0.0;
};

// A risk below this fraction of the zero predictor's counts as zero (OLS without noise and
// M >= d): its relative standard error is not asked for.
constexpr double kNumericalZero = 1e-12;

using Query = TestDistribution::Query;
using Quadrants = TestDistribution::Quadrants;

// Draws one test prompt from `s` into p (the task w, the design X, the labels y, the query q) and
// factors its design into ls. Draws in a fixed order: covariance, task, prompt covariates, query,
// signs, noise, index.
void draw_prompt(const TestDistribution& dist, Stream& s, PromptWorkspace& p, LeastSquares& ls) {
  const int d = dist.d;
  const int m = dist.m;
  if (dist.law)
    for (int j = 0; j < d; ++j) p.sqrt_lambda[j] = std::sqrt(dist.law_scale * dist.law->sample(s));
  for (int j = 0; j < d; ++j) p.w[j] = dist.w_mean[j] + dist.w_scale * s.normal();
  for (Eigen::Index j = 0; j < p.X.size(); ++j) p.X.data()[j] = s.normal();
  for (int j = 0; j < d; ++j) p.z[j] = s.normal();

  p.X.array().rowwise() *= p.sqrt_lambda.transpose().array();
  p.z.array() *= p.sqrt_lambda.array();
  if (dist.mix_identity) {
    p.q = p.z;
  } else {
    p.mixed.noalias() = p.X * dist.mix.transpose();
    p.X.swap(p.mixed);
    p.q.noalias() = dist.mix * p.z;
  }
  if (dist.prompt_scale != 1.0) p.X *= dist.prompt_scale;
  if (dist.query_scale != 1.0) p.q *= dist.query_scale;

  if (dist.quadrants != Quadrants::none) {
    for (int j = 0; j < d; ++j) p.signs[j] = (s.next() >> 63) ? -1.0 : 1.0;
    p.X.array() = p.X.array().abs().rowwise() * p.signs.transpose().array();
    if (dist.quadrants == Quadrants::opposite) p.q = -(p.q.cwiseAbs().cwiseProduct(p.signs));
  }
  p.y.noalias() = p.X * p.w;
  if (dist.noise_sd > 0.0)
    for (int j = 0; j < m; ++j) p.y[j] += dist.noise_sd * s.normal();

  ls.factor(p.X);
  if (dist.query == Query::orthogonal) {
    const double norm = p.q.norm();
    p.xq.noalias() = p.X * p.q;
    ls.pseudo_inverse(p.X, p.xq, p.projection);
    p.q -= p.projection;
    p.q *= norm / p.q.norm();
  } else if (dist.query == Query::overlapping) {
    p.q = p.X.row(static_cast<Eigen::Index>(s.below(static_cast<std::uint64_t>(m)))).transpose();
  }
}

// Whether the error given the design has the closed form of docs/theory.md §9: the query is an
// independent Gaussian (not orthogonal_query, overlapping_query, opposite_quadrants).
bool conditional(const TestDistribution& dist) {
  return dist.query == Query::independent && dist.quadrants != Quadrants::opposite;
}

// The design's covariance Sigma = X^T X / M into p.sigma (both triangles), from the Gram matrix
// that least squares factored where it has full column rank.
void design_covariance(PromptWorkspace& p, const LeastSquares& ls) {
  const double m = static_cast<double>(p.X.rows());
  if (ls.full_column_rank()) {
    p.sigma = ls.gram().selfadjointView<Eigen::Lower>();
    p.sigma /= m;
  } else {
    p.sigma.setZero();
    p.sigma.selfadjointView<Eigen::Lower>().rankUpdate(p.X.transpose(), 1.0 / m);
    p.sigma.triangularView<Eigen::StrictlyUpper>() = p.sigma.transpose();
  }
}

// The query's covariance Lambda_q = F F^T of the prompt in p, as F^T = query_scale diag(sqrt lambda)
// mix^T into p.ft.
void query_factor(const TestDistribution& dist, PromptWorkspace& p) {
  p.ft.noalias() = dist.query_scale * (p.sqrt_lambda.asDiagonal() * dist.mix.transpose());
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
  // `sigma`: p.sigma must hold the design's covariance afterwards (for the whole layer's error).
  ConditionalError(const TestDistribution& dist, const LsaPredictors& lsa, bool linear, bool sigma)
      : dist_(dist), lsa_(lsa), linear_(linear), steps_(!lsa.gd_steps.alpha.empty()), per_prompt_(static_cast<bool>(dist.law)),
        sigma_(sigma), w2_(dist.w_scale * dist.w_scale), s2_(dist.noise_sd * dist.noise_sd),
        has_mean_(!dist.w_mean.isZero(0.0)) {}

  // F^T = query_scale diag(sqrt lambda) mix^T, and the H = F^T A that depend on it: once per
  // condition, or per prompt under a per-prompt law.
  void set_query_covariance(PromptWorkspace& p) const {
    query_factor(dist_, p);
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

  // Into e, whose ridge_each has one entry per lambda of ls.
  void operator()(PromptWorkspace& p, LeastSquares& ls, ConditionalErrors& e) const {
    if (per_prompt_) set_query_covariance(p);
    using enum Predictor;
    const double m = static_cast<double>(p.X.rows());
    if (ls.full_row_rank() && !steps_) {  // M < d: no d x d work
      wide(p, ls, e);
      if (sigma_) design_covariance(p, ls);
      return;
    }
    design_covariance(p, ls);
    if (per_prompt_) {
      if (linear_) e[index_of(model)] = lsa_form(p, p.h_model, m);
      e[index_of(lsa_limit)] = lsa_form(p, p.h_limit, m);
    } else {
      p.sigma2.setZero();
      p.sigma2.selfadjointView<Eigen::Lower>().rankUpdate(p.sigma);  // Sigma Sigma^T
      if (has_mean_) p.sigma_mu.noalias() = p.sigma * dist_.w_mean;
      if (linear_) e[index_of(model)] = lsa_form_fixed(p, p.h_model, p.c_model, p.e_model, m);
      e[index_of(lsa_limit)] = lsa_form_fixed(p, p.h_limit, p.c_limit, p.e_limit, m);
    }
    if (steps_) {  // x_q^T G h with G of this design: H = F^T G
      gd_steps_matrix(lsa_.gd_steps, p.sigma, p.g_steps, p.g_scratch);
      if (dist_.mix_identity)
        p.h_steps.noalias() = p.ft.diagonal().asDiagonal() * p.g_steps;
      else
        p.h_steps.noalias() = p.ft * p.g_steps;
      e[index_of(gd_steps)] = lsa_form(p, p.h_steps, m);
    }
    // Averaging (A = I) and one-step GD (A = eta I) share F^T Sigma.
    if (dist_.mix_identity)
      p.hs.noalias() = p.ft.diagonal().asDiagonal() * p.sigma;
    else
      p.hs.noalias() = p.ft * p.sigma;
    const double eta = lsa_.gd_eta;
    const double noise_avg = (p.hs.array() * p.ft.array()).sum() / m;
    p.ftg = p.hs - p.ft;
    e[index_of(avg)] = error(p, noise_avg);
    p.ftg = eta * p.hs - p.ft;
    e[index_of(gd)] = error(p, eta * eta * noise_avg);
    if (ls.full_column_rank()) {
      // X^+ X = I: G = 0 and ||F^T B||^2 = tr(F^T (X^T X)^-1 F). Ridge with R = X^T X + M lambda I:
      // G = -M lambda R^-1, and with Y = R^-1 F, ||F^T B||^2 = tr(F^T Y) - M lambda ||Y||^2.
      // OLS: s^2 ||L^-1 F||^2 with X^T X = L L^T (zero without label noise).
      e[index_of(ols)] = 0.0;
      if (s2_ > 0.0) {
        p.hs = p.ft.transpose();
        ls.solve_gram_factor(p.hs);
        e[index_of(ols)] = s2_ * p.hs.squaredNorm();
      }
      for (std::size_t l = 0; l < ls.ridge_count(); ++l) {
        p.hs = p.ft.transpose();
        ls.solve_ridge_gram(p.hs, l);
        const double shift = ls.ridge_shift(l);
        p.ftg = -shift * p.hs.transpose();
        e.ridge_each[l] = error(p, (p.ft.transpose().array() * p.hs.array()).sum() - shift * p.hs.squaredNorm());
      }
    } else {
      ls.pseudo_inverse_matrix(p.X, p.b);
      e[index_of(ols)] = explicit_form(p);
      for (std::size_t l = 0; l < ls.ridge_count(); ++l) {
        ls.ridge_matrix(p.X, p.b, l);
        e.ridge_each[l] = explicit_form(p);
      }
    }
    p.ftg = -p.ft;
    e[index_of(zero)] = error(p, 0.0);
  }

 private:
  // M < d with X X^T = K of full rank: every linear predictor is F^T B = W of size d x M, and
  // with Q = F^T X^T and the projection P onto X's rows, W X - F^T = D X - F^T (I - P) where
  // D = W - Q K^-1, the two parts orthogonal, so that
  //   ||F^T G||^2 = <D^T D, K> + ||F||^2 - <Q, Q K^-1>,   ||F^T B||^2 = ||W||^2,
  // and G mu = W X mu - F^T mu: O(d M^2) a predictor besides forming W (d^2 M for an LSA form,
  // d M^2 for ridge), against O(d^3) through Sigma. OLS has D = 0.
  void wide(PromptWorkspace& p, LeastSquares& ls, ConditionalErrors& e) const {
    using enum Predictor;
    const double m = static_cast<double>(p.X.rows());
    if (dist_.mix_identity)
      p.q_wide.noalias() = p.ft.diagonal().asDiagonal() * p.X.transpose();
    else
      p.q_wide.noalias() = p.ft * p.X.transpose();
    p.qk_t = p.q_wide.transpose();
    ls.solve_gram(p.qk_t);  // K^-1 Q^T
    const double f2 = p.ft.squaredNorm();
    // ||F^T (I - P)||^2, OLS's noiseless error. Where it is a small part of ||F||^2 the difference
    // keeps few of its digits (none where X's rows span F's range, as under a subspace law with M
    // its rank: zero, which the target must see as zero): then F^T P - F^T directly, O(d^2 M).
    double residual = f2 - (p.q_wide.transpose().array() * p.qk_t.array()).sum();
    if (!(residual > 1e-6 * f2)) {
      p.ftg.noalias() = p.qk_t.transpose() * p.X;
      p.ftg -= p.ft;
      residual = p.ftg.squaredNorm();
    }
    if (has_mean_) {
      p.x_mu.noalias() = p.X * dist_.w_mean;
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
      p.w_wide.noalias() = h * p.X.transpose();
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
    p.ftg = -p.ft;
    e[index_of(zero)] = error(p, 0.0);
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
  double lsa_form_fixed(PromptWorkspace& p, const MatrixXd& h, const MatrixXd& c, const MatrixXd& e, double m) const {
    const double square = lower_dot(c, p.sigma2) - 2.0 * (p.sigma.array() * e.array()).sum() + p.f2;
    double r = w2_ * std::max(0.0, square) + s2_ * lower_dot(c, p.sigma) / m;
    if (has_mean_) {
      p.g_mean.noalias() = h * p.sigma_mu;
      p.g_mean -= p.ft_mu;
      r += p.g_mean.squaredNorm();
    }
    return r;
  }
  double lsa_form(PromptWorkspace& p, const MatrixXd& h, double m) const {
    p.hs.noalias() = h * p.sigma;
    p.ftg = p.hs - p.ft;
    return error(p, (p.hs.array() * h.array()).sum() / m);
  }
  double explicit_form(PromptWorkspace& p) const {
    if (dist_.mix_identity)
      p.ftb.noalias() = p.ft.diagonal().asDiagonal() * p.b;
    else
      p.ftb.noalias() = p.ft * p.b;
    p.ftg.noalias() = p.ftb * p.X;
    p.ftg -= p.ft;
    return error(p, p.ftb.squaredNorm());
  }

  const TestDistribution& dist_;
  const LsaPredictors& lsa_;
  bool linear_, steps_, per_prompt_, sigma_;
  double w2_, s2_;
  bool has_mean_;
};

// Every predictor's prediction for the prompt in p; `model` only when `linear` (the trained model
// is lsa.trained), else a BlockPredictor fills it in later. The linear predictors only when
// `sampled_linear`: otherwise their conditional errors stand in for them. Ridge's per lambda of
// ls, k-NN's per k of `ks` (0: none).
struct Predictions {
  double target = 0.0;
  std::array<double, kPredictorCount> value{};  // indexed by Predictor; the zero predictor's is 0
  std::vector<double> ridge_each, knn_each;
};

void predict(PromptWorkspace& p, LeastSquares& ls, const LsaPredictors& lsa, bool linear, bool sampled_linear,
             const std::vector<int>& ks, Predictions& r) {
  using enum Predictor;
  auto& v = r.value;
  v.fill(0.0);
  r.target = p.w.dot(p.q);
  if (sampled_linear) {
    p.h.noalias() = p.X.transpose() * p.y;
    p.h /= static_cast<double>(p.X.rows());
    v[index_of(avg)] = p.q.dot(p.h);
    if (linear) {
      p.a_h.noalias() = lsa.trained * p.h;
      v[index_of(model)] = p.q.dot(p.a_h);
    }
    p.a_h.noalias() = lsa.limit * p.h;
    v[index_of(lsa_limit)] = p.q.dot(p.a_h);
    ls.pseudo_inverse(p.X, p.y, p.w_ols);
    v[index_of(ols)] = p.q.dot(p.w_ols);
    for (std::size_t l = 0; l < ls.ridge_count(); ++l) {
      ls.ridge(p.X, p.y, p.w_ridge, l);
      r.ridge_each[l] = p.q.dot(p.w_ridge);
    }
    v[index_of(gd)] = lsa.gd_eta * v[index_of(avg)];
    if (!lsa.gd_steps.alpha.empty()) {
      design_covariance(p, ls);
      gd_steps_matrix(lsa.gd_steps, p.sigma, p.g_steps, p.g_scratch);
      p.a_h.noalias() = p.g_steps * p.h;
      v[index_of(gd_steps)] = p.q.dot(p.a_h);
    }
  }

  bool distances = false;
  for (std::size_t j = 0; j < ks.size(); ++j) {
    const int k = ks[j];
    r.knn_each[j] = std::numeric_limits<double>::quiet_NaN();
    if (k == 0) continue;  // no k-NN baseline
    if (!distances) p.dist.noalias() = (p.X.rowwise() - p.q.transpose()).rowwise().squaredNorm();
    distances = true;
    std::iota(p.order.begin(), p.order.end(), 0);
    std::nth_element(p.order.begin(), p.order.begin() + (k - 1), p.order.end(),
                     [&](int a, int c) { return p.dist[a] < p.dist[c] || (p.dist[a] == p.dist[c] && a < c); });
    double neighbours = 0.0;
    for (int i = 0; i < k; ++i) neighbours += p.y[p.order[i]];
    r.knn_each[j] = neighbours / k;
  }
}

}  // namespace

std::vector<Design> draw_designs(const TestDistribution& dist, const StreamKey& key, int count,
                                 CancelCheck cancelled) {
  PromptWorkspace p(dist.m, dist.d);
  LeastSquares ls(dist.m, dist.d, std::vector<double>{});
  if (!dist.law) p.sqrt_lambda = dist.lambda.cwiseSqrt();
  std::vector<Design> designs;
  designs.reserve(static_cast<std::size_t>(std::max(count, 0)));
  for (int i = 0; i < count; ++i) {
    throw_if_cancelled(cancelled);
    Stream s{key.seed, key.covariance, key.condition, static_cast<std::uint64_t>(i)};
    draw_prompt(dist, s, p, ls);
    design_covariance(p, ls);
    query_factor(dist, p);
    designs.push_back(Design{p.sigma, p.ft.transpose() * p.ft});
  }
  return designs;
}

std::vector<McRisks> monte_carlo_each(const TestDistribution& dist, const LsaPredictors& lsa,
                                      const McSettings& settings, const StreamKey& key, const BlockPredictor* model,
                                      CancelCheck cancelled) {
  const std::size_t lambdas = settings.ridge_lambdas.size(), k_count = settings.knn_ks.size();
  if (lambdas == 0 || k_count == 0) throw std::invalid_argument("monte_carlo: no ridge lambda or no k-NN k");
  std::vector<McRisks> out(lambdas * k_count);
  if (!dist.defined() || settings.prompts <= 0) return out;
  const int d = dist.d;
  const int m = dist.m;
  std::vector<int> ks;  // each k, at most M
  for (const int k : settings.knn_ks) ks.push_back(std::min(k, m));
  const bool any_knn = std::any_of(ks.begin(), ks.end(), [](int k) { return k > 0; });

  PromptWorkspace p(m, d);
  LeastSquares ls(m, d, settings.ridge_lambdas);
  // Indexed by Predictor, but for ridge and k-NN, whose accumulators are per lambda and per k.
  std::array<Accumulator, kPredictorCount> acc;
  std::vector<Accumulator> ridge_acc(lambdas), knn_acc(k_count);
  // Which predictors are estimated: all but k-NN without k. Which are averaged given the design
  // where the query allows (Estimation::linear): the model only when it is lsa.trained.
  std::array<bool, kPredictorCount> estimated, given_design;
  if (!dist.law) p.sqrt_lambda = dist.lambda.cwiseSqrt();
  // The model is lsa.trained; without either, there is no model to estimate (NaN).
  const bool linear = model == nullptr && lsa.trained.size() > 0;
  const bool exact_given_design = conditional(dist);
  const bool layer = !lsa.layer.empty();
  const ConditionalError conditional_error(dist, lsa, linear, layer);
  for (const PredictorSpec& spec : kPredictors) {
    const std::size_t i = index_of(spec.id);
    estimated[i] = (spec.id != Predictor::knn || any_knn) && (spec.id != Predictor::gd_steps || !lsa.gd_steps.alpha.empty()) &&
                   (spec.id != Predictor::model || linear || model != nullptr);
    given_design[i] = exact_given_design && spec.estimation == Estimation::linear && (spec.id != Predictor::model || linear);
  }
  if (exact_given_design && !dist.law) conditional_error.set_query_covariance(p);
  // The whole layer's error given the design, over w, eps and an independent Gaussian query, or
  // given the design and the query for the other queries (w and eps are independent of both).
  std::optional<LayerError> layer_error;
  const auto set_layer_query = [&] { layer_error->set_query_factor(p.ft, dist.mix_identity); };
  if (layer) {
    layer_error.emplace(lsa.layer, m, dist.w_mean, dist.w_scale, dist.noise_sd);
    if (exact_given_design && !dist.law) set_layer_query();
  }
  // Given the design, the layer's error pairs with A*'s (McRisks::layer); given the query, it is
  // evaluated on every prompt.
  PairedLayerRisk paired(settings.layer_stride, dist.has_moments());
  static_assert(PairedLayerRisk::kPilot % kPromptBlock == 0, "the pilot ends with a block");
  Accumulator layer_acc;

  // Prompts go in blocks: each prompt's predictions are kept until the model has predicted the
  // whole block, then every estimate accumulates in prompt order.
  const int block = model ? kPromptBlock : 1;
  std::vector<Predictions> predictions(static_cast<std::size_t>(block));
  std::vector<ConditionalErrors> given_design_errors(static_cast<std::size_t>(block));
  for (Predictions& r : predictions) {
    r.ridge_each.resize(lambdas);
    r.knn_each.resize(k_count);
  }
  for (ConditionalErrors& e : given_design_errors) e.ridge_each.resize(lambdas);
  std::vector<double> layer_errors(layer ? static_cast<std::size_t>(block) : 0);
  std::vector<double> block_x, block_y, block_q, block_model;
  if (model) {
    block_x.resize(static_cast<std::size_t>(block) * m * d);
    block_y.resize(static_cast<std::size_t>(block) * m);
    block_q.resize(static_cast<std::size_t>(block) * d);
    block_model.resize(static_cast<std::size_t>(block));
  }
  int used = 0;
  // The estimates so far, as the pair (lambda l, k j) reports them.
  const auto estimates = [&](std::size_t l, std::size_t j) {
    McRisks r;
    r.prompts = used;
    for (std::size_t i = 0; i < kPredictorCount; ++i)
      if (estimated[i]) r.of[i] = acc[i].estimate();
    r[Predictor::ridge] = ridge_acc[l].estimate();
    r[Predictor::knn] = ks[j] > 0 ? knn_acc[j].estimate() : RiskEstimate{};
    if (layer && exact_given_design) {
      r.layer = paired.risk();
      r.layer_gap = paired.gap();
    } else if (layer) {
      r.layer = layer_acc.estimate();
    }
    return r;
  };

  // With a target relative standard error, the estimates are checked at prompt counts fixed in
  // advance (every eighth of the count so far, at least kTargetFirstCheck apart, at the first block
  // end past each), so that where sampling stops does not depend on the schedule. Each pair
  // (lambda, k) stops where its own estimates are precise enough, as it would sampled alone: the
  // pass goes on while any pair has not.
  std::int64_t next_check = kTargetFirstCheck;
  const bool ols_infinite = dist.ols_risk_infinite();
  const auto within = [&](const Accumulator& a, double zero_risk) {
    if (a.n == 0) return true;  // not estimated by sampling here
    const RiskEstimate e = a.estimate();
    return e.se <= settings.target_rel_se * std::max(std::abs(e.mean), kNumericalZero * zero_risk);
  };
  // Every estimate but ridge's and k-NN's.
  const auto shared_precise_enough = [&](double r0) {
    for (std::size_t i = 0; i < kPredictorCount; ++i) {
      // An infinite risk has no precision to reach: its estimate is reported, not waited for; nor
      // is a predictor the target does not name (its own standard error says how precise it is).
      if ((i == index_of(Predictor::ols) && ols_infinite) || !settings.target_waits[i]) continue;
      if (i == index_of(Predictor::ridge) || i == index_of(Predictor::knn)) continue;
      if (!within(acc[i], r0)) return false;
    }
    if (!settings.target_waits[index_of(Predictor::model)]) return true;  // the whole layer is the model's
    if (!layer || !exact_given_design) return within(layer_acc, r0);
    const RiskEstimate e = paired.risk();
    return e.se <= settings.target_rel_se * std::max(std::abs(e.mean), kNumericalZero * r0);
  };
  std::vector<bool> stopped(out.size(), false);
  std::size_t running = out.size();

  while (used < settings.prompts) {
    const int first = used;
    const int count = std::min(block, settings.prompts - first);
    for (int b = 0; b < count; ++b) {
      throw_if_cancelled(cancelled);
      Stream s{key.seed, key.covariance, key.condition, static_cast<std::uint64_t>(first + b)};
      draw_prompt(dist, s, p, ls);
      predict(p, ls, lsa, linear, !exact_given_design, ks, predictions[static_cast<std::size_t>(b)]);
      if (exact_given_design) conditional_error(p, ls, given_design_errors[static_cast<std::size_t>(b)]);
      if (layer && exact_given_design) {
        if (paired.evaluates(first + b)) {
          if (dist.law) set_layer_query();  // the query covariance of this prompt (conditional_error set F)
          layer_errors[static_cast<std::size_t>(b)] = layer_error->integrated(p.sigma);
        }
      } else if (layer) {
        design_covariance(p, ls);
        layer_errors[static_cast<std::size_t>(b)] = (*layer_error)(p.sigma, p.q);
      }
      if (model) {
        const auto offset = static_cast<std::size_t>(b);
        Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
            block_x.data() + offset * m * d, m, d) = p.X;
        Eigen::Map<VectorXd>(block_y.data() + offset * m, m) = p.y;
        Eigen::Map<VectorXd>(block_q.data() + offset * d, d) = p.q;
      }
    }
    if (model) {
      (*model)(PromptBlock{count, m, d, block_x.data(), block_y.data(), block_q.data()}, block_model.data());
      for (int b = 0; b < count; ++b)
        predictions[static_cast<std::size_t>(b)].value[index_of(Predictor::model)] = block_model[static_cast<std::size_t>(b)];
    }
    for (int b = 0; b < count; ++b) {
      const Predictions& r = predictions[static_cast<std::size_t>(b)];
      const auto sq = [t = r.target](double prediction) { return (prediction - t) * (prediction - t); };
      const ConditionalErrors& e = given_design_errors[static_cast<std::size_t>(b)];
      for (std::size_t i = 0; i < kPredictorCount; ++i)
        if (estimated[i] && i != index_of(Predictor::ridge) && i != index_of(Predictor::knn))
          acc[i].add(given_design[i] ? e[i] : sq(r.value[i]));
      const bool ridge_given_design = given_design[index_of(Predictor::ridge)];
      for (std::size_t l = 0; l < lambdas; ++l) ridge_acc[l].add(ridge_given_design ? e.ridge_each[l] : sq(r.ridge_each[l]));
      for (std::size_t j = 0; j < k_count; ++j)
        if (ks[j] > 0) knn_acc[j].add(sq(r.knn_each[j]));
      if (!layer) continue;
      if (!exact_given_design) {
        layer_acc.add(layer_errors[static_cast<std::size_t>(b)]);
        continue;
      }
      paired.add(first + b, e[index_of(Predictor::lsa_limit)], layer_errors[static_cast<std::size_t>(b)]);
    }
    used += count;
    if (settings.target_rel_se > 0.0 && used >= next_check && used < settings.prompts) {
      const double r0 = std::abs(acc[index_of(Predictor::zero)].mean);
      if (shared_precise_enough(r0)) {
        const bool ridge_waits = settings.target_waits[index_of(Predictor::ridge)];
        const bool knn_waits = settings.target_waits[index_of(Predictor::knn)];
        for (std::size_t l = 0; l < lambdas; ++l) {
          if (ridge_waits && !within(ridge_acc[l], r0)) continue;
          for (std::size_t j = 0; j < k_count; ++j) {
            const std::size_t pair = l * k_count + j;
            if (stopped[pair] || (knn_waits && !within(knn_acc[j], r0))) continue;
            out[pair] = estimates(l, j);
            stopped[pair] = true;
            --running;
          }
        }
        if (running == 0) return out;
      }
      next_check = used + std::max<std::int64_t>(kTargetFirstCheck, used / 8);
    }
  }
  for (std::size_t l = 0; l < lambdas; ++l)
    for (std::size_t j = 0; j < k_count; ++j)
      if (!stopped[l * k_count + j]) out[l * k_count + j] = estimates(l, j);
  return out;
}

McRisks monte_carlo(const TestDistribution& dist, const LsaPredictors& lsa, const McSettings& settings,
                    const StreamKey& key, const BlockPredictor* model, CancelCheck cancelled) {
  if (settings.ridge_lambdas.size() != 1 || settings.knn_ks.size() != 1)
    throw std::invalid_argument("monte_carlo: one ridge lambda and one k (monte_carlo_each takes lists)");
  return monte_carlo_each(dist, lsa, settings, key, model, cancelled).front();
}

}  // namespace icl
