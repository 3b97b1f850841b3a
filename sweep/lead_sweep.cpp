#include "lead_sweep.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

#include "schedule/progress.hpp"

namespace icl {

SweepOutcome lead_sweep(const SweepConfig& config, const Grid& grid, int ranks, double progress_seconds,
                        const SchedulerOptions& scheduling, const RunFunction& run, SweepStore& store,
                        const std::function<void(TaskResult&)>& complete) {
  // Costliest first, so that no rank is left with a long run at the tail.
  Workload workload;
  std::vector<std::uint64_t>& order = workload.order;
  for (std::uint64_t id = 0; id < grid.runs(); ++id)
    if (!store.done(id)) order.push_back(id);
  std::vector<double> cost(grid.runs());
  for (const std::uint64_t id : order) cost[id] = grid.cost_estimate(id);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return cost[a] > cost[b]; });
  workload.cost = [&grid](std::uint64_t id) { return grid.cost_estimate(id); };
  workload.rows_per_run = grid.conditions_per_run();

  double cost_left = 0.0, cost_done = 0.0;
  for (const std::uint64_t id : order) cost_left += cost[id];
  Progress progress(grid.rows(), ranks, progress_seconds, cost_left);
  auto last_checkpoint = std::chrono::steady_clock::now();
  SchedulerHooks hooks;
  hooks.on_result = [&](TaskResult&& result) {
    if (result.train_id < cost.size()) cost_done += cost[result.train_id];
    if (complete) complete(result);
    store.record(std::move(result));
  };
  hooks.on_tick = [&](int busy) {
    progress.tick(store.rows_done(), busy, cost_done);
    if (std::chrono::steady_clock::now() - last_checkpoint > kCheckpointEvery) {
      store.checkpoint();
      last_checkpoint = std::chrono::steady_clock::now();
    }
  };
  const SweepOutcome outcome = coordinate(workload, run, ranks, hooks, scheduling);
  if (outcome.end != SweepEnd::complete) {
    store.checkpoint();
    return outcome;
  }
  store.finish();
  progress.finish(store.rows_done(), config.output);
  return outcome;
}

}  // namespace icl
