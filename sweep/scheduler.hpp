#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "grid.hpp"
#include "run_task.hpp"
#include "sweep_config.hpp"

namespace icl {

struct SchedulerHooks {
  std::function<void(TaskResult&&)> on_result;  // every finished training run, on rank 0's main thread
  std::function<void(int busy_ranks)> on_tick;  // called often on rank 0's main thread
};

// stopped: every rank answered the stop; abandoned: some did not within the grace period
// (`unanswered` names them) and must not be waited for (end_job, not MPI_Finalize).
enum class SweepEnd { complete, stopped, abandoned };

struct SweepOutcome {
  SweepEnd end = SweepEnd::complete;
  std::vector<int> unanswered;
};

// Rank 0: hands out the training runs in `order` one at a time to whichever rank asks first
// (dynamic balancing: runs differ in cost by orders of magnitude, so the costliest go first),
// computes on a thread of its own meanwhile, and passes every result to the hooks. Once a
// stop arrives it hands out nothing more, tells busy ranks to abandon their runs, drops runs
// cancelled half-way, and returns `stopped` when every rank is idle, or `abandoned` when some
// rank has not answered `stop_grace_seconds` after the stop.
struct SchedulerOptions {
  double stop_grace_seconds = 30.0;
  // A wall-clock budget (--stop-after, --stop-at): a run is handed out only if its estimated
  // time (the grid's cost estimate, scaled by the rate measured on the runs finished so far)
  // fits before `deadline` - kDeadlineLead; at that moment a stop is requested, so that the
  // checkpoint is written and the program has exited by `deadline`.
  std::optional<std::chrono::steady_clock::time_point> deadline;
};
// Time kept back before a deadline for the stop itself: runs abandoned, checkpoints written.
inline constexpr std::chrono::seconds kDeadlineLead{15};

SweepOutcome coordinate(const SweepConfig& config, const Grid& grid, const std::vector<std::uint64_t>& order,
                        int ranks, const SchedulerHooks& hooks, const SchedulerOptions& options);

// Ranks > 0: ask for work, compute it, send it back, until told to stop. A stop signal, or
// rank 0's kCancel, cancels the run in hand at its next check (a prompt, a step).
void work(const SweepConfig& config, const Grid& grid, int rank);

}  // namespace icl
