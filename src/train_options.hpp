#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace icl {

// How a model is trained on sampled prompts (every model but `flow`); docs/interface.md keys
// train.*. Parsing a name throws InputError.
struct TrainOptions {
  enum class Optimizer { adam, adamw, sgd } optimizer = Optimizer::adam;
  enum class Schedule { constant, cosine, warmup } schedule = Schedule::constant;
  double lr = 1e-3;                // a grid axis; the value of one run
  std::int64_t steps = 1000;       // a grid axis; the value of one run
  int batch = 64;
  // > 0: a step's gradient is rescaled to this global norm where it is larger (clipping); 0: never.
  double clip = 0.0;
  // paper: the paper's sigma, Theta initialisation for the LSA models (GPT-2's own for gpt2:
  // models/gpt2.cpp); gaussian(scale): every weight N(0, scale^2) for any model.
  std::string init = "paper";
  double init_scale = 0.0;         // gaussian's scale; 0 for paper
  // none, or garg(every): Garg et al.'s curriculum scaled to the run (Curriculum below).
  std::string curriculum = "none";
  std::int64_t curriculum_every = 0;
  int threads = 1;                 // intra-op threads of one rank
  // cpu, cuda (the rank's GPU: rank_device below) or cuda:N, as written in the config; a rank's
  // training gets the device it resolved to (cpu or cuda:N).
  std::string device = "cpu";
  // How GPT-2 multiplies on a CUDA device (the LSA models are double precision throughout): fp32,
  // single precision with TF32 off; tf32, CUDA's TensorFloat-32 matrix products (10-bit
  // mantissas); bf16, bfloat16 autocast (PyTorch's autocast policy). tf32 and bf16 need cuda.
  enum class Precision { fp32, tf32, bf16 } precision = Precision::fp32;
  double checkpoint_seconds = 300;
};

TrainOptions::Optimizer parse_optimizer(std::string_view name);
TrainOptions::Schedule parse_schedule(std::string_view name);
TrainOptions::Precision parse_precision(std::string_view name);
std::string_view to_string(TrainOptions::Optimizer optimizer);
std::string_view to_string(TrainOptions::Schedule schedule);
std::string_view to_string(TrainOptions::Precision precision);

// train.device as written: cpu, cuda (index -1: the rank's own) or cuda:N. Throws InputError.
struct DeviceRequest {
  bool cuda = false;
  int index = -1;
};
DeviceRequest parse_device(std::string_view text);
// The device one rank trains on: cpu; cuda:N where pinned; else cuda:(local_rank mod visible),
// `local_rank` the rank's index among the ranks of its node and `visible` the CUDA devices it
// sees (> 0).
std::string rank_device(const DeviceRequest& request, int local_rank, int visible);
// Sets init and init_scale from `paper` or `gaussian(scale)`.
void parse_init(std::string_view text, TrainOptions& options);
std::string init_text(const TrainOptions& options);
// Garg et al.'s curriculum scaled to the run's d and P = N + 1 prompt points: active dimensions
// from ceil(d / 4) up by one and points from ceil(P / 4) up by two every `every` steps, each until
// it is whole (at d = 20, P = 41, Garg et al.'s 5 and 11 of their 20 and 41); every = 0: all of
// them from the start.
struct Curriculum {
  int d, points;
  std::int64_t every;
  int dims_at(std::int64_t step) const;
  int points_at(std::int64_t step) const;
};

// Sets curriculum and curriculum_every from `none` or `garg(every)`.
void parse_curriculum(std::string_view text, TrainOptions& options);
std::string curriculum_text(const TrainOptions& options);

// The learning rate at `step` of `steps` under the schedule: constant; cosine decay to 0;
// warmup: linear from 0 over the first 10% of the steps (at least 1), then cosine decay.
double scheduled_lr(const TrainOptions& options, std::int64_t step);

}  // namespace icl
