#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "cancellation.hpp"
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

// What a rank does with one training run; run_task, or a stand-in in the dispatch benchmark.
using RunFunction = std::function<TaskResult(std::uint64_t train_id, int rank, CancelCheck cancelled)>;

// Rank 0: hands out the training runs in `order` to whichever rank asks first (dynamic
// balancing: runs differ in cost by orders of magnitude, so the costliest go first), in batches
// sized by the cost model (batch_runs below), and
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
  // Every rank's work; empty: run_task.
  RunFunction run;
  // false: one run per message (the dispatch benchmark's comparison).
  bool batching = true;
};
// A batch handed to one rank holds runs whose estimated seconds add up to at most
// max(kBatchSeconds, ranks x kBatchSecondsPerRank) (so that rank 0 receives at most
// 1 / kBatchSecondsPerRank messages a second, whatever the rank count) and to at most the
// estimated work left / (kBatchBalance x ranks) (guided self-scheduling: batches shrink towards
// the end, so that no rank holds the tail), and always one run. The first results give the
// rate that turns cost estimates into seconds; until then batches are one run. Results come
// back one message per batch.
inline constexpr double kBatchSeconds = 0.05;
inline constexpr double kBatchSecondsPerRank = 2e-4;
inline constexpr double kBatchBalance = 4.0;
inline constexpr std::size_t kMaxBatch = 1 << 16;
// The number of runs, of the `pending` ones in hand-out order whose estimated seconds are
// seconds_of(0), seconds_of(1), ..., that make one batch for one of `ranks` ranks when
// `remaining_seconds` of work is left (at least 1 when any is pending).
std::size_t batch_runs(std::size_t pending, const std::function<double(std::size_t)>& seconds_of,
                       double remaining_seconds, int ranks);
// Time kept back before a deadline for the stop itself: runs abandoned, checkpoints written.
inline constexpr std::chrono::seconds kDeadlineLead{15};

SweepOutcome coordinate(const SweepConfig& config, const Grid& grid, const std::vector<std::uint64_t>& order,
                        int ranks, const SchedulerHooks& hooks, const SchedulerOptions& options);

// Ranks > 0: ask for work, compute it, send it back, until told to stop. A stop signal, or
// rank 0's kCancel, cancels the run in hand at its next check (a prompt, a step).
void work(const SweepConfig& config, const Grid& grid, int rank, const RunFunction& run = {});

}  // namespace icl
