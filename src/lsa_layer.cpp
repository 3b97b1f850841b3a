#include "lsa_layer.hpp"

#include <limits>

namespace icl {

double LsaLayer::predict(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, const Eigen::VectorXd& q) const {
  const int d = this->d();
  const double m = static_cast<double>(X.rows());
  // W (x_q; 0) = (u; v); S (u; v) over the keys, then p^T of it.
  const Eigen::VectorXd u = w.topLeftCorner(d, d) * q;
  const double v = w.row(d).head(d).dot(q);
  const Eigen::VectorXd keys_dot = X * u + v * y;  // z_i^T (u; v) for each labelled point
  Eigen::VectorXd s_x = X.transpose() * keys_dot;  // sum_i x_i z_i^T (u; v)
  const double s_y = y.dot(keys_dot);              // sum_i y_i z_i^T (u; v)
  if (query_is_key) s_x += q * q.dot(u);           // the query (x_q; 0) as a key
  return (p.head(d).dot(s_x) + p[d] * s_y) / m;
}

double outside_sparse_form(const Eigen::MatrixXd& w_pv, const Eigen::MatrixXd& w_kq) {
  const Eigen::Index d = w_pv.rows() - 1;
  const double all = w_pv.squaredNorm() + w_kq.squaredNorm();
  const double inside = w_pv(d, d) * w_pv(d, d) + w_kq.topLeftCorner(d, d).squaredNorm();
  return all > 0.0 ? (all - inside) / all : std::numeric_limits<double>::quiet_NaN();
}

LayerError::LayerError(const LsaLayer& layer, int m, const Eigen::VectorXd& w_mean, double w_scale, double noise_sd)
    : layer_(layer), m_(static_cast<double>(m)), c2_(w_scale * w_scale), s2_(noise_sd * noise_sd),
      has_mean_(!w_mean.isZero(0.0)), mu_(w_mean) {
  const int d = layer.d();
  px_ = layer.p.head(d);
  py_ = layer.p[d];
  wxx_ = layer.w.topLeftCorner(d, d);
  wyx_ = layer.w.row(d).head(d).transpose();
  for (Eigen::VectorXd* v : {&u_, &su_, &c_, &sc_, &bw_, &lr_, &clr_, &v3_, &g_, &tmp_, &lp_, &slp_, &lslp_, &s2mu_,
                             &lambda_diag_, &f_diag_})
    v->resize(d);
  smu_ = Eigen::VectorXd::Zero(d);
  cm_ = px_ * wyx_.transpose() + py_ * wxx_;
  sym_ = 0.5 * (wxx_ + wxx_.transpose());
  for (Eigen::MatrixXd* buffer : {&sl_, &f_, &dm_, &q_, &lambda_q_}) buffer->resize(d, d);
}

// y ~ N(X mu, c^2 X X^T + s^2 I) given X: with Sigma = X^T X / M,
//   tr Sigma_y = M (c^2 tr Sigma + s^2), ||m_y||^2 = M mu^T Sigma mu,
//   tr Sigma_y^2 = c^4 M^2 ||Sigma||^2 + 2 c^2 s^2 M tr Sigma + M s^4,
//   m_y^T Sigma_y m_y = c^2 M^2 ||Sigma mu||^2 + s^2 M mu^T Sigma mu.
LayerError::LabelMoments LayerError::label_moments(const Eigen::MatrixXd& sigma) {
  double mu_sigma_mu = 0.0;
  if (has_mean_) {
    smu_.noalias() = sigma * mu_;
    mu_sigma_mu = mu_.dot(smu_);
  }
  const double trace = sigma.trace();
  const double tr_y2 = c2_ * c2_ * m_ * m_ * sigma.squaredNorm() + 2.0 * c2_ * s2_ * m_ * trace + m_ * s2_ * s2_;
  const double my_sy_my = c2_ * m_ * m_ * smu_.squaredNorm() + s2_ * m_ * mu_sigma_mu;
  return {m_ * (c2_ * trace + s2_) + m_ * mu_sigma_mu, 2.0 * tr_y2 + 4.0 * my_sy_my};
}

// Given x_q, with u = W_xx q, v = w_yx^T q, c = v p_x + p_y u and kappa = p_y v / M, the error is
// e = a + b_w^T w + b_eps^T eps + kappa ||y||^2 with
//   a = p_x^T Sigma u (+ (p_x^T q)(q^T u) / M with the query as a key),
//   b_w = Sigma c - q, ||b_eps||^2 = c^T Sigma c / M:
//   E[e] = a + b_w^T mu + kappa (tr Sigma_y + ||m_y||^2),
//   Var e = c^2 ||b_w||^2 + s^2 ||b_eps||^2 + kappa^2 Var ||y||^2
//           + 4 kappa (c^2 M b_w^T Sigma mu + s^2 c^T Sigma mu).
double LayerError::operator()(const Eigen::MatrixXd& sigma, const Eigen::VectorXd& q) {
  const LabelMoments y = label_moments(sigma);
  u_.noalias() = wxx_ * q;
  const double v = wyx_.dot(q);
  c_ = v * px_ + py_ * u_;
  const double kappa = py_ * v / m_;
  sc_.noalias() = sigma * c_;
  su_.noalias() = sigma * u_;
  double a = px_.dot(su_);
  if (layer_.query_is_key) a += px_.dot(q) * q.dot(u_) / m_;
  bw_ = sc_ - q;
  const double mean = a + bw_.dot(mu_) + kappa * y.mean_norm2;
  const double variance = c2_ * bw_.squaredNorm() + s2_ * c_.dot(sc_) / m_ + kappa * kappa * y.var_norm2 +
                          4.0 * kappa * (c2_ * m_ * bw_.dot(smu_) + s2_ * c_.dot(smu_));
  return mean * mean + variance;
}

// Over x_q ~ N(0, L), L = F F^T, as well: c = C q, b_w = B q with B = Sigma C - I, and
//   E[e | X, q] = g^T q + [query as a key] (p_x^T q)(q^T W_xx q) / M,
//   g = W_xx^T Sigma p_x + B^T mu + (p_y / M)(tr Sigma_y + ||m_y||^2) w_yx,
//   Var[e | X, q] = q^T Q q,  E_q q^T Q q = c^2 tr(B L B^T) + (s^2/M) tr(Sigma C L C^T)
//                   + (p_y/M)^2 Var||y||^2 r^T L r + 4 (p_y/M) r^T L h,
//   r = w_yx, h = c^2 M B^T Sigma mu + s^2 C^T Sigma mu.
// With D = C F and Q = Sigma D (the one O(d^3) product a prompt): tr(C L C^T Sigma^2) = ||Q||^2,
// tr(Sigma C L C^T) = <Q, D>, tr(Sigma C L) = <Q, F>, so tr(B L B^T) = ||Q||^2 - 2 <Q, F> + tr L; and
// r^T L h = c^2 M ((C L r)^T Sigma Sigma mu - (L r)^T Sigma mu) + s^2 (C L r)^T Sigma mu.
// The cubic term's Gaussian moments (S = sym(W_xx), t = tr(S L)):
//   E[(g^T q)(p_x^T q)(q^T S q)] = t g^T L p_x + 2 g^T L S L p_x,
//   E[(p_x^T q)^2 (q^T S q)^2] = p_x^T L p_x (t^2 + 2 tr(S L S L)) + 8 p_x^T L S L S L p_x + 4 t p_x^T L S L p_x.
void LayerError::set_query_factor(const Eigen::MatrixXd& ft, bool diagonal) {
  diagonal_ = diagonal;
  const Eigen::Index d = ft.rows();
  if (diagonal) {
    f_diag_ = ft.diagonal();
    lambda_diag_ = f_diag_.cwiseAbs2();
    dm_ = cm_ * ft.diagonal().asDiagonal();  // C F, F = F^T diagonal
    lr_ = lambda_diag_.cwiseProduct(wyx_);
    trace_l_ = lambda_diag_.sum();
  } else {
    f_ = ft.transpose();
    lambda_q_.noalias() = f_ * ft;
    dm_.noalias() = cm_ * f_;
    lr_.noalias() = lambda_q_ * wyx_;
    trace_l_ = lambda_q_.trace();
  }
  clr_.noalias() = cm_ * lr_;
  r_l_r_ = wyx_.dot(lr_);
  const auto apply_l = [&](const Eigen::VectorXd& x, Eigen::VectorXd& out) {
    if (diagonal_)
      out = lambda_diag_.cwiseProduct(x);
    else
      out.noalias() = lambda_q_ * x;
  };
  v3_.setZero(d);
  cubic2_ = 0.0;
  if (layer_.query_is_key) {
    if (diagonal)
      sl_ = sym_ * lambda_diag_.asDiagonal();  // S L
    else
      sl_.noalias() = sym_ * lambda_q_;
    const double t = sl_.trace();
    const double tr_slsl = (sl_.array() * sl_.transpose().array()).sum();  // tr(S L S L)
    apply_l(px_, lp_);                                                   // L p_x
    slp_.noalias() = sym_ * lp_;                                         // S L p_x
    apply_l(slp_, lslp_);                                                // L S L p_x
    const double p_lp = px_.dot(lp_), p_lslp = px_.dot(lslp_);
    tmp_.noalias() = sym_ * lslp_;
    const double p_lslslp = lp_.dot(tmp_);                               // p^T L S L S L p
    v3_ = (t * lp_ + 2.0 * lslp_) / m_;
    cubic2_ = (p_lp * (t * t + 2.0 * tr_slsl) + 8.0 * p_lslslp + 4.0 * t * p_lslp) / (m_ * m_);
  }
}

double LayerError::integrated(const Eigen::MatrixXd& sigma) {
  const LabelMoments y = label_moments(sigma);
  // g = W_xx^T Sigma p_x + C^T Sigma mu - mu + (p_y/M) y.mean_norm2 r
  su_.noalias() = sigma * px_;
  g_.noalias() = wxx_.transpose() * su_;
  if (has_mean_) {
    g_.noalias() += cm_.transpose() * smu_;
    g_ -= mu_;
  }
  g_ += (py_ / m_) * y.mean_norm2 * wyx_;
  double g_l_g;
  if (diagonal_) {
    g_l_g = (lambda_diag_.array() * g_.array().square()).sum();
  } else {
    tmp_.noalias() = lambda_q_ * g_;
    g_l_g = g_.dot(tmp_);
  }
  const double mean2 = g_l_g + 2.0 * g_.dot(v3_) + cubic2_;
  q_.noalias() = sigma * dm_;
  const double tr_sigma_cl = diagonal_ ? q_.diagonal().dot(f_diag_) : (q_.array() * f_.array()).sum();
  double variance = c2_ * (q_.squaredNorm() - 2.0 * tr_sigma_cl + trace_l_) +
                    s2_ * (q_.array() * dm_.array()).sum() / m_ + (py_ / m_) * (py_ / m_) * y.var_norm2 * r_l_r_;
  if (has_mean_) {
    s2mu_.noalias() = sigma * smu_;
    variance += 4.0 * (py_ / m_) * (c2_ * m_ * (clr_.dot(s2mu_) - lr_.dot(smu_)) + s2_ * clr_.dot(smu_));
  }
  return mean2 + variance;
}

}  // namespace icl
