#include "training_prompts.hpp"

#include <cmath>

namespace icl {

void sample_training_batch(const Covariance& covariance, int batch, int points, int active_d, Stream& stream,
                           TrainingBatch& out, double noise_sd) {
  const int d = covariance.d;
  out.batch = batch;
  out.points = points;
  out.d = d;
  out.x.assign(static_cast<std::size_t>(batch) * points * d, 0.0);
  out.y.assign(static_cast<std::size_t>(batch) * points, 0.0);
  Eigen::VectorXd scale(d), w(d), z(d), x(d);
  const bool rotated = !covariance.random() && !covariance.eigenvectors.isIdentity(0.0);
  if (!covariance.random()) scale = covariance.eigenvalues.cwiseSqrt();
  for (int b = 0; b < batch; ++b) {
    if (covariance.random())
      for (int j = 0; j < d; ++j) scale[j] = std::sqrt(covariance.law->sample(stream));
    w.setZero();
    for (int j = 0; j < active_d; ++j) w[j] = stream.normal();
    for (int i = 0; i < points; ++i) {
      for (int j = 0; j < d; ++j) z[j] = scale[j] * stream.normal();
      if (rotated)
        x.noalias() = covariance.eigenvectors * z;
      else
        x = z;
      x.tail(d - active_d).setZero();
      double* row = out.x.data() + (static_cast<std::size_t>(b) * points + i) * d;
      for (int j = 0; j < d; ++j) row[j] = x[j];
      out.y[static_cast<std::size_t>(b) * points + i] = w.dot(x) + (noise_sd > 0.0 ? noise_sd * stream.normal() : 0.0);
    }
  }
}

}  // namespace icl
