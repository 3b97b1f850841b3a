#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "grid.hpp"
#include "run_task.hpp"
#include "sweep_config.hpp"

namespace icl {

struct SchedulerHooks {
  std::function<void(TaskResult&&)> on_result;  // every finished training run, on rank 0's main thread
  std::function<void(int busy_ranks)> on_tick;  // called often on rank 0's main thread
};

enum class SweepEnd { complete, stopped };

// Rank 0: hands out the training runs in `order` one at a time to whichever rank asks first
// (dynamic balancing: runs differ in cost by orders of magnitude, so the costliest go first),
// computes on a thread of its own meanwhile, and passes every result to the hooks. Once a
// stop signal arrives it hands out nothing more, drops runs cancelled half-way, and returns
// `stopped` when every rank is idle.
SweepEnd coordinate(const SweepConfig& config, const Grid& grid, const std::vector<std::uint64_t>& order,
                int ranks, const SchedulerHooks& hooks);

// Ranks > 0: ask for work, compute it, send it back, until told to stop. A stop signal
// cancels the run in hand at its next condition.
void work(const SweepConfig& config, const Grid& grid, int rank);

}  // namespace icl
