#include "lead_sweep.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

#include "progress.hpp"

namespace icl {

SweepOutcome lead_sweep(const SweepConfig& config, const Grid& grid, int ranks, double progress_seconds,
                        const SchedulerOptions& scheduling, SweepStore& store,
                        const std::function<void(TaskResult&)>& complete) {
  // Costliest first, so that no rank is left with a long run at the tail.
  std::vector<std::uint64_t> order;
  for (std::uint64_t id = 0; id < grid.runs(); ++id)
    if (!store.done(id)) order.push_back(id);
  std::vector<double> cost(grid.runs());
  for (const std::uint64_t id : order) cost[id] = grid.cost_estimate(id);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return cost[a] > cost[b]; });

  Progress progress(grid.rows(), ranks, progress_seconds);
  auto last_checkpoint = std::chrono::steady_clock::now();
  SchedulerHooks hooks;
  hooks.on_result = [&](TaskResult&& result) {
    if (complete) complete(result);
    store.record(std::move(result));
  };
  hooks.on_tick = [&](int busy) {
    progress.tick(store.rows_done(), busy);
    if (std::chrono::steady_clock::now() - last_checkpoint > kCheckpointEvery) {
      store.checkpoint();
      last_checkpoint = std::chrono::steady_clock::now();
    }
  };
  const SweepOutcome outcome = coordinate(config, grid, order, ranks, hooks, scheduling);
  if (outcome.end != SweepEnd::complete) {
    store.checkpoint();
    return outcome;
  }
  store.finish();
  progress.finish(store.rows_done(), config.output);
  return outcome;
}

}  // namespace icl
