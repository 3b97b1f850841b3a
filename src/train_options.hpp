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
  std::string device = "cpu";      // cpu, or cuda where libtorch has it
  double checkpoint_seconds = 300;
};

TrainOptions::Optimizer parse_optimizer(std::string_view name);
TrainOptions::Schedule parse_schedule(std::string_view name);
std::string_view to_string(TrainOptions::Optimizer optimizer);
std::string_view to_string(TrainOptions::Schedule schedule);
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
