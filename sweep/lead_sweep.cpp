#include "lead_sweep.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

#include "schedule/progress.hpp"

namespace icl {

SweepOutcome lead_sweep(const SweepConfig& config, const Grid& grid, int ranks, double progress_seconds,
                        const std::string& devices, const SchedulerOptions& scheduling, const RunFunction& run, SweepStore& store,
                        const std::function<void(TaskResult&)>& complete) {
  // With train.device = cuda a sampled model's run is a GPU's work, a flow's a CPU core's: every
  // GPU run goes first, so that the GPUs are kept busy with them while there are any, and the
  // flows fill the ranks whose GPUs have none left. Within each, costliest first, so that no rank
  // is left with a long run at the tail.
  const bool gpu = parse_device(config.train.device).cuda;
  const auto device_class = [&grid, gpu](std::uint64_t id) { return gpu && grid.run(id).model.sampled() ? 1 : 0; };
  Workload workload;
  std::vector<std::uint64_t>& order = workload.order;
  for (std::uint64_t id = 0; id < grid.runs(); ++id)
    if (!store.done(id)) order.push_back(id);
  std::vector<double> cost(grid.runs());
  std::vector<std::uint8_t> on_gpu(grid.runs());
  for (const std::uint64_t id : order) {
    cost[id] = grid.cost_estimate(id);
    on_gpu[id] = static_cast<std::uint8_t>(device_class(id));
  }
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) {
    return on_gpu[a] != on_gpu[b] ? on_gpu[a] > on_gpu[b] : cost[a] > cost[b];
  });
  workload.cost = [&grid](std::uint64_t id) { return grid.cost_estimate(id); };
  // A copy (a byte a run): the dispatch may outlive this frame on an abandoned computing thread.
  workload.device_class = [on_gpu](std::uint64_t id) { return static_cast<int>(on_gpu[id]); };
  workload.rows_per_run = grid.conditions_per_run();

  double cost_left[CostRates::kClasses] = {0.0, 0.0};
  for (const std::uint64_t id : order) cost_left[on_gpu[id]] += cost[id];
  Progress progress(grid.rows(), ranks, progress_seconds, cost_left, devices);
  auto last_checkpoint = std::chrono::steady_clock::now();
  SchedulerHooks hooks;
  hooks.on_result = [&](TaskResult&& result) {
    if (result.train_id < cost.size())
      progress.finished(on_gpu[result.train_id], cost[result.train_id], computed_seconds(result));
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
