#include "training_status.hpp"

namespace icl {

std::string_view to_string(TrainingStatus status) {
  switch (status) {
    case TrainingStatus::converged: return "converged";
    case TrainingStatus::max_time: return "max_time";
    case TrainingStatus::max_steps: return "max_steps";
    case TrainingStatus::trained: return "trained";
    case TrainingStatus::diverged: return "diverged";
    case TrainingStatus::cancelled: return "cancelled";
    case TrainingStatus::failed: return "failed";
  }
  return "failed";
}

}  // namespace icl
