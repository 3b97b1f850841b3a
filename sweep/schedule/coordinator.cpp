// Rank 0's coordinating thread: the message pump. It answers every worker's message with a
// batch from the dispatch (or kStop), delivers their results and the local worker's to the
// hooks, and applies the stop rules; it computes nothing itself.
#include <mpi.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <time.h>

#include "schedule/dispatch.hpp"
#include "schedule/local_worker.hpp"
#include "schedule/messages.hpp"
#include "schedule/mpi_session.hpp"
#include "schedule/scheduler.hpp"
#include "schedule/stop_rules.hpp"
#include "schedule/stop_signals.hpp"

namespace icl {
namespace {

double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

}  // namespace

SweepOutcome coordinate(const Workload& workload, const RunFunction& run, int ranks, const SchedulerHooks& hooks,
                        const SchedulerOptions& options) {
  if (!run) throw std::invalid_argument("coordinate: no function to run a task");
  const double cpu_at_start = thread_cpu_seconds();
  std::optional<std::chrono::steady_clock::time_point> stop_at;
  if (options.deadline) stop_at = *options.deadline - kDeadlineLead;
  const auto dispatch = std::make_shared<Dispatch>(workload, options.batching, stop_at);
  StopRules stop_rules(stop_at, options.stop_grace_seconds);
  LocalWorker local(dispatch, run);
  std::size_t delivered = 0;
  SweepOutcome outcome;
  // Whatever goes wrong on this thread, the computing one is wound down and joined first.
  try {
    const auto deliver = [&](TaskResult&& result) {
      if (result.rows.size() != workload.rows_per_run) {
        // Cancelled half-way: a stop reached that rank, so the whole sweep stops.
        request_stop(kStopFromAnotherRank);
        return;
      }
      ++delivered;
      outcome.load.rows += result.rows.size();
      dispatch->finished(result);
      hooks.on_result(std::move(result));
    };
    int workers = ranks - 1;  // not yet stopped
    std::vector<char> busy(ranks, 0);
    std::vector<std::byte> buffer;
    std::vector<TaskResult> received;
    Backoff backoff;
    while (true) {
      bool progressed = false;
      int flag = 0;
      MPI_Status status;
      while (workers > 0 && MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status) == MPI_SUCCESS && flag) {
        progressed = true;
        const int source = status.MPI_SOURCE;
        if (status.MPI_TAG == messages::kResult) {
          int count = 0;
          MPI_Get_count(&status, MPI_BYTE, &count);
          buffer.resize(static_cast<std::size_t>(count));
          MPI_Recv(buffer.data(), count, MPI_BYTE, source, messages::kResult, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
          ++outcome.load.messages;
        } else {
          MPI_Recv(nullptr, 0, MPI_BYTE, source, messages::kReady, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        }
        // Answer first, so that the worker computes while this rank writes.
        if (const std::vector<std::uint64_t> batch = dispatch->take_batch(ranks); !batch.empty()) {
          MPI_Send(batch.data(), static_cast<int>(batch.size()), MPI_UINT64_T, source, messages::kTask, MPI_COMM_WORLD);
          busy[source] = 1;
        } else {
          MPI_Send(nullptr, 0, MPI_BYTE, source, messages::kStop, MPI_COMM_WORLD);
          busy[source] = 0;
          --workers;
        }
        if (status.MPI_TAG == messages::kResult) {
          unpack_batch(buffer, received);
          for (TaskResult& result : received) deliver(std::move(result));
        }
      }
      const bool local_finished = local.finished();
      std::deque<TaskResult> ready = local.collect();
      for (auto& result : ready) deliver(std::move(result));
      progressed = progressed || !ready.empty();
      int busy_ranks = local.busy() ? 1 : 0;
      for (char b : busy) busy_ranks += b;
      hooks.on_tick(busy_ranks);
      if (workers == 0 && local_finished && ready.empty()) break;
      const StopRules::Verdict verdict = stop_rules.check(busy, !local_finished && local.busy());
      if (verdict.cancel_busy)
        for (int r = 1; r < ranks; ++r)
          if (busy[r]) MPI_Send(nullptr, 0, MPI_BYTE, r, messages::kCancel, MPI_COMM_WORLD);
      if (!verdict.unanswered.empty()) {
        outcome.unanswered = verdict.unanswered;
        break;
      }
      if (progressed)
        backoff.reset();
      else
        backoff.sleep();
    }
  } catch (...) {
    request_stop(kStopFromAnotherRank);
    local.join_quietly();
    throw;
  }
  if (!outcome.unanswered.empty() && outcome.unanswered.front() == 0)
    local.abandon();  // still in its run; the job ends (end_job) without it
  else
    local.join();
  outcome.load.cpu_seconds = thread_cpu_seconds() - cpu_at_start;
  outcome.end = !outcome.unanswered.empty()           ? SweepEnd::abandoned
                : delivered == workload.order.size() ? SweepEnd::complete
                                                     : SweepEnd::stopped;
  return outcome;
}

}  // namespace icl
