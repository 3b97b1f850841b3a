#include "lsa_layer.hpp"

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

LayerError::LayerError(const LsaLayer& layer, int m, const Eigen::VectorXd& w_mean, double w_scale, double noise_sd)
    : layer_(layer), m_(static_cast<double>(m)), c2_(w_scale * w_scale), s2_(noise_sd * noise_sd),
      has_mean_(!w_mean.isZero(0.0)), mu_(w_mean) {
  const int d = layer.d();
  px_ = layer.p.head(d);
  py_ = layer.p[d];
  wxx_ = layer.w.topLeftCorner(d, d);
  wyx_ = layer.w.row(d).head(d).transpose();
  for (Eigen::VectorXd* v : {&u_, &su_, &c_, &sc_, &bw_, &lr_, &v3_, &g_, &tmp_}) v->resize(d);
  smu_ = Eigen::VectorXd::Zero(d);
  cm_ = px_ * wyx_.transpose() + py_ * wxx_;
  sk_.resize(d, d);
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

// Over x_q ~ N(0, L) as well: c = C q, b_w = B q with B = Sigma C - I, and
//   E[e | X, q] = g^T q + [query as a key] (p_x^T q)(q^T W_xx q) / M,
//   g = W_xx^T Sigma p_x + B^T mu + (p_y / M)(tr Sigma_y + ||m_y||^2) w_yx,
//   Var[e | X, q] = q^T Q q,  E_q q^T Q q = c^2 tr(B L B^T) + (s^2/M) tr(Sigma K)
//                   + (p_y/M)^2 Var||y||^2 r^T L r + 4 (p_y/M) r^T L h,
//   r = w_yx, K = C L C^T, h = c^2 M B^T Sigma mu + s^2 C^T Sigma mu,
//   tr(B L B^T) = tr(K Sigma^2) - 2 tr(Sigma C L) + tr L.
// The cubic term's Gaussian moments (S = sym(W_xx), t = tr(S L)):
//   E[(g^T q)(p_x^T q)(q^T S q)] = t g^T L p_x + 2 g^T L S L p_x,
//   E[(p_x^T q)^2 (q^T S q)^2] = p_x^T L p_x (t^2 + 2 tr(S L S L)) + 8 p_x^T L S L S L p_x + 4 t p_x^T L S L p_x.
void LayerError::set_query_covariance(const Eigen::MatrixXd& lambda_q) {
  lambda_q_ = lambda_q;
  cl_.noalias() = cm_ * lambda_q;
  k_.noalias() = cl_ * cm_.transpose();
  lr_.noalias() = lambda_q * wyx_;
  trace_l_ = lambda_q.trace();
  r_l_r_ = wyx_.dot(lr_);
  v3_.setZero();
  cubic2_ = 0.0;
  if (layer_.query_is_key) {
    const Eigen::MatrixXd s = 0.5 * (wxx_ + wxx_.transpose());
    const Eigen::MatrixXd sl = s * lambda_q;
    const double t = sl.trace();
    const Eigen::VectorXd lp = lambda_q * px_;                // L p_x
    const Eigen::VectorXd lslp = lambda_q * (s * lp);         // L S L p_x
    const double p_lp = px_.dot(lp), p_lslp = px_.dot(lslp);  // p^T L p, p^T L S L p
    const double p_lslslp = lp.dot(s * lslp);                 // p^T L S L S L p
    v3_ = (t * lp + 2.0 * lslp) / m_;
    cubic2_ = (p_lp * (t * t + 2.0 * (sl * sl).trace()) + 8.0 * p_lslslp + 4.0 * t * p_lslp) / (m_ * m_);
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
  tmp_.noalias() = lambda_q_ * g_;
  const double mean2 = g_.dot(tmp_) + 2.0 * g_.dot(v3_) + cubic2_;
  sk_.noalias() = sigma * k_;
  const double tr_k_sigma2 = (sk_.array() * sigma.array()).sum();  // tr(Sigma K Sigma), Sigma symmetric
  const double tr_sigma_cl = (sigma.array() * cl_.array()).sum();  // tr(Sigma C L)
  const double tr_sigma_k = (sigma.array() * k_.array()).sum();
  double variance = c2_ * (tr_k_sigma2 - 2.0 * tr_sigma_cl + trace_l_) + s2_ * tr_sigma_k / m_ +
                    (py_ / m_) * (py_ / m_) * y.var_norm2 * r_l_r_;
  if (has_mean_) {
    // h = c^2 M (C^T Sigma smu - smu) + s^2 C^T smu
    su_.noalias() = sigma * smu_;
    tmp_.noalias() = cm_.transpose() * su_;
    bw_.noalias() = cm_.transpose() * smu_;
    c_ = c2_ * m_ * (tmp_ - smu_) + s2_ * bw_;
    variance += 4.0 * (py_ / m_) * lr_.dot(c_);
  }
  return mean2 + variance;
}

}  // namespace icl
