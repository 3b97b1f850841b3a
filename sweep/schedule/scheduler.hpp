#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "cancellation.hpp"
#include "task/task_result.hpp"

namespace icl {

struct SchedulerHooks {
  std::function<void(TaskResult&&)> on_result;  // every finished training run, on rank 0's main thread
  std::function<void(int busy_ranks)> on_tick;  // called often on rank 0's main thread
};

// stopped: every rank answered the stop; abandoned: some did not within the grace period
// (`unanswered` names them) and must not be waited for (end_job, not MPI_Finalize).
enum class SweepEnd { complete, stopped, abandoned };

// Rank 0's coordinating thread, measured: what it costs per row decides how many ranks one
// coordinator can keep busy (docs/interface.md, "Scale").
struct CoordinatorLoad {
  double cpu_seconds = 0.0;    // CPU time of the coordinating thread (messages, journal, HDF5)
  std::uint64_t messages = 0;  // results messages received from other ranks
  std::uint64_t rows = 0;      // rows delivered, rank 0's own included
};

struct SweepOutcome {
  SweepEnd end = SweepEnd::complete;
  std::vector<int> unanswered;
  CoordinatorLoad load;
};

// What a rank does with one training run: run_task (task/run_task.hpp) in the program, a
// stand-in in the dispatch benchmark and the scheduler's tests.
using RunFunction = std::function<TaskResult(std::uint64_t train_id, int rank, CancelCheck cancelled)>;

// The work of a sweep as the scheduler sees it: which runs, in which order, what each is
// estimated to cost (in any unit: the rate measured on finished runs turns it into seconds) and
// how many rows a whole run gives (a result with fewer was cancelled half-way).
struct Workload {
  std::vector<std::uint64_t> order;
  std::function<double(std::uint64_t train_id)> cost;
  std::uint64_t rows_per_run = 0;
  // The run's device class (CostRates, cost_rates.hpp): 1 where its model trains on a GPU, 0
  // on the CPU; none: every run 0.
  std::function<int(std::uint64_t train_id)> device_class;
};

// Rank 0: hands out the training runs in `order` to whichever rank asks first (dynamic
// balancing: runs differ in cost by orders of magnitude, so the costliest go first), in batches
// sized by the cost model (batch_runs, dispatch.hpp), and
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
  // false: one run per message (the dispatch benchmark's comparison).
  bool batching = true;
};
// Time kept back before a deadline for the stop itself: runs abandoned, checkpoints written.
inline constexpr std::chrono::seconds kDeadlineLead{15};

// `run` computes rank 0's own share (required: std::invalid_argument when empty).
SweepOutcome coordinate(const Workload& workload, const RunFunction& run, int ranks, const SchedulerHooks& hooks,
                        const SchedulerOptions& options);

// Ranks > 0: ask for work, compute it, send it back, until told to stop. A stop signal, or
// rank 0's kCancel, cancels the run in hand at its next check (a prompt, a step).
// `run` is required (std::invalid_argument when empty).
void work(int rank, std::uint64_t rows_per_run, const RunFunction& run);

}  // namespace icl
