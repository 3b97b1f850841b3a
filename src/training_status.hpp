#pragma once
#include <string_view>

namespace icl {

// How a training run ended, for the flow and the sampled models alike. The text is the status
// column's (docs/interface.md, "Training status").
enum class TrainingStatus {
  converged,  // the flow: ||A - A*||_F / ||A*||_F <= tol
  max_time,   // the flow: t_max reached first
  max_steps,  // the flow: max_steps reached first
  trained,    // a sampled model: every optimizer step taken
  diverged,   // either: a non-finite loss or parameters; lsa, linear_transformer: a final loss >= 2 L(0) or a late batch loss >= kLateSpike L(0)
  cancelled,  // a stop reached the run: it is abandoned and computed again on resume (never stored)
  failed,     // an error (an exception) ended it: its rows keep this status and NaN values
};

inline constexpr TrainingStatus kTrainingStatuses[] = {
    TrainingStatus::converged, TrainingStatus::max_time, TrainingStatus::max_steps, TrainingStatus::trained,
    TrainingStatus::diverged,  TrainingStatus::cancelled, TrainingStatus::failed};

std::string_view to_string(TrainingStatus status);

}  // namespace icl
