#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "cancellation.hpp"
#include "covariance.hpp"
#include "model_spec.hpp"
#include "monte_carlo.hpp"
#include "population_loss.hpp"
#include "random_stream.hpp"
#include "train_options.hpp"
#include "training_status.hpp"

// Training of the sampled models (lsa, linear_transformer, gpt2) with libtorch. This header is
// free of torch, so that the sweep engine does not compile against it; the implementation in
// models/ is the only code that does.
namespace icl {

// One training run of a sampled model.
struct SampledSetup {
  ModelSpec model;
  TrainOptions options;          // lr and steps are the run's values
  const Covariance* covariance;  // the training distribution
  const PopulationLoss* loss;    // for A_eff's population loss and A* (LSA models)
  int d = 0, n_train = 0;
  double sigma = 0.01;           // the paper's initialisation scale
  double train_noise = 0.0;      // label noise (standard deviation) of the training prompts
  int max_test_m = 0;            // the longest test prompt: GPT-2's positions must cover it
  int trajectory_points = 64;
  // Training prompts of step t draw from Stream{seed, train_key, text_key("train-batch"), t}; the
  // initialisation from Stream{seed, train_key, text_key("init")} (the paper's Theta from the
  // flow's own stream, Stream{seed, text_key("theta"), init_seed, d}).
  std::uint64_t seed = 0, train_key = 0;
  int init_seed = 0;
  // Checkpoints: every options.checkpoint_seconds, and when cancelled, the whole training state
  // (model, optimizer, step, loss curve so far) goes to `save` as bytes; training started with
  // `resume_from` (such bytes) continues from there and ends bitwise as an uninterrupted run.
  // `resume_from` may also be a run's final state (SampledOutcome::state): nothing is trained, and
  // the outcome is bitwise the run's.
  std::function<void(const std::string& state)> save;
  std::string resume_from;
};

// `resume_from` is not a training state of this run (another run, another layout).
struct CheckpointMismatch : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct TrainingSample {
  double step, loss, rel_err, excess;  // rel_err and excess of A_eff; NaN for other models
};

struct SampledOutcome {
  TrainingStatus status = TrainingStatus::failed;  // trained, diverged or cancelled
  std::int64_t steps = 0;          // optimizer steps taken
  std::int64_t resumed_at = -1;    // the step a checkpoint continued from; -1 when trained from the start
  double loss_final = std::numeric_limits<double>::quiet_NaN();  // mean training loss over the last steps
  double seconds = 0.0;
  std::vector<TrainingSample> trajectory;  // trajectory_points samples, log-spaced in steps, NaN-padded
  // LSA models only (one layer): y_hat = x_q^T A_eff h when the off-block entries vanish.
  Eigen::MatrixXd a_eff;
  double offblock_norm = std::numeric_limits<double>::quiet_NaN();
  // The trained weights of LSA-type models (lsa, linear_transformer(L)): W^PV_1, W^KQ_1, ...,
  // W^PV_L, W^KQ_L, each (d+1) x (d+1) in double precision; empty for GPT-2.
  std::vector<Eigen::MatrixXd> weights;
  BlockPredictor predictor;  // the trained model on test prompts
  // The final training state (model, step, loss curve and sums; no optimizer state): given back as
  // `resume_from`, the run is evaluated again without training. Empty when cancelled.
  std::string state;
};

// An lsa or linear_transformer(L) run is diverged when a batch loss of the second half of its
// training reaches kLateSpike times the zero predictor's L(0) = E[y^2] / 2: one prompt of 64 with
// an error of 6,400 E[y^2] or more, which a model at a stable solution does not make.
inline constexpr double kLateSpike = 100.0;
// Whether such a run blew up: its loss at the end (mean of the last steps) is 2 L(0) or more, or
// its largest batch loss of the second half of training is kLateSpike L(0) or more, or either is
// not a number.
inline bool linear_run_blew_up(double loss_final, double late_max, double zero_loss) {
  return !(loss_final < 2.0 * zero_loss && late_max < kLateSpike * zero_loss);
}

// Trains one model; never throws for a numerical failure (status diverged). Returns with status
// `cancelled` and no predictor when `cancelled` answers true (checked every step), after a last
// checkpoint. Throws std::runtime_error when `resume_from` is not a state of this run, and
// std::bad_alloc when libtorch cannot get memory (also from the predictor): the machine's
// failure, not the run's.
SampledOutcome train_sampled(const SampledSetup& setup, CancelCheck cancelled = nullptr);

// Whether libtorch can run on `device` ("cpu", "cuda", "cuda:1"); `why` says why not
// (models/devices.cpp).
bool device_available(const std::string& device, std::string& why);
// How many CUDA devices this process sees (0 with a CPU build of libtorch).
int cuda_devices();
// What the device is: "cpu", or the GPU's name ("NVIDIA H100 80GB HBM3"); "cuda" where a build
// cannot tell.
std::string device_name(const std::string& device);

}  // namespace icl
