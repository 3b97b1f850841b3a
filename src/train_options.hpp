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
  // paper: the paper's sigma, Theta initialisation for the LSA models (GPT-2's own N(0, 0.02^2)
  // for gpt2); gaussian(scale): every weight N(0, scale^2) for any model.
  std::string init = "paper";
  double init_scale = 0.0;         // gaussian's scale; 0 for paper
  // none, or garg(every): Garg et al.'s curriculum, active dimensions from min(5, d) up by one
  // and prompt points from min(11, N + 1) up by two every `every` steps.
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
// Sets curriculum and curriculum_every from `none` or `garg(every)`.
void parse_curriculum(std::string_view text, TrainOptions& options);
std::string curriculum_text(const TrainOptions& options);

// The learning rate at `step` of `steps` under the schedule: constant; cosine decay to 0;
// warmup: linear from 0 over the first 10% of the steps (at least 1), then cosine decay.
double scheduled_lr(const TrainOptions& options, std::int64_t step);

}  // namespace icl
