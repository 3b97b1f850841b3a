#pragma once
#include <vector>

#include "covariance.hpp"
#include "random_stream.hpp"

namespace icl {

// A batch of training prompts from the training distribution (docs/theory.md §1, §4), flat and
// row-major: x[b][i][j] = x[(b points + i) d + j], y[b][i] = y[b points + i]. A prompt's last
// point is its query; its label is the target.
struct TrainingBatch {
  int batch = 0, points = 0, d = 0;
  std::vector<double> x, y;
};

// Fills `out` with `batch` prompts of `points` points each, drawn from `stream`: per prompt the
// covariance (random models only), then w ~ N(0, I), then the covariates, in that order.
// Coordinates from `active_d` on are zero (a curriculum's unused dimensions). Labels are
// <w, x_i>, plus N(0, noise_sd^2) drawn right after each point's covariates where noise_sd > 0
// (noiseless prompts draw exactly what they always drew).
void sample_training_batch(const Covariance& covariance, int batch, int points, int active_d, Stream& stream,
                           TrainingBatch& out, double noise_sd = 0.0);

}  // namespace icl
