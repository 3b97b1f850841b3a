#include "scheduler.hpp"

#include <mpi.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <time.h>

#include "messages.hpp"
#include "mpi_session.hpp"
#include "stop_signals.hpp"

namespace icl {
namespace {

using Clock = std::chrono::steady_clock;
// Rank 0's own results waiting for the coordinating thread, at most.
constexpr std::size_t kLocalBacklog = 64;

// A worker's stop: its own signal, or rank 0's kCancel, looked for at most every 20 ms (the
// check runs every prompt and every step).
bool worker_cancelled() {
  if (stop_requested()) return true;
  static Clock::time_point last{};
  const auto now = Clock::now();
  if (now - last < std::chrono::milliseconds(20)) return false;
  last = now;
  int flag = 0;
  MPI_Iprobe(0, messages::kCancel, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
  if (!flag) return false;
  MPI_Recv(nullptr, 0, MPI_BYTE, 0, messages::kCancel, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  request_stop(kStopFromAnotherRank);
  return true;
}

// What rank 0's computing thread shares with its main thread. Held by both through a
// shared_ptr: a thread stuck in a computation that cannot be interrupted is left behind after
// the stop's grace period (the job then ends by end_job: MPI_Abort, or _Exit without MPI), and must not
// outlive its state.
struct Dispatch {
  // The runs not yet handed out, costliest first. Without a deadline they go in that order;
  // with one, the first that fits the time left goes: the costliest, else the cheapest.
  std::mutex take_mutex;
  std::deque<std::uint64_t> pending;
  double pending_estimate = 0.0;  // the cost estimates of `pending`, summed
  double estimated_done = 0.0, seconds_done = 0.0;  // the measured rate: seconds per estimated unit
  std::optional<Clock::time_point> stop_at;
  const Grid* grid = nullptr;

  // Rank 0's own runs.
  std::mutex mutex;
  std::deque<TaskResult> local_results;
  std::atomic<bool> local_busy{false}, local_done{false};
  std::exception_ptr compute_error;
  std::size_t local_backlog() {
    const std::lock_guard lock(mutex);
    return local_results.size();
  }

  double rate() const { return estimated_done > 0.0 ? seconds_done / estimated_done : 1.0; }
  bool fits(double seconds) const { return Clock::now() + std::chrono::duration<double>(seconds) <= *stop_at; }
  bool fits(std::uint64_t id) const { return fits(grid->cost_estimate(id) * rate()); }
  std::uint64_t pop(bool front) {
    const std::uint64_t id = front ? pending.front() : pending.back();
    if (front)
      pending.pop_front();
    else
      pending.pop_back();
    pending_estimate = std::max(0.0, pending_estimate - grid->cost_estimate(id));
    return id;
  }
  // One run, or none once stopped or when nothing fits before the deadline.
  std::optional<std::uint64_t> take() {
    if (stop_requested()) return std::nullopt;
    const std::lock_guard lock(take_mutex);
    return take_locked();
  }
  std::optional<std::uint64_t> take_locked() {
    if (pending.empty()) return std::nullopt;
    if (!stop_at || fits(pending.front())) return pop(true);
    if (fits(pending.back())) return pop(false);
    return std::nullopt;
  }
  // A batch for one of `ranks` ranks (batch_runs), or one run before any rate is measured and
  // where the batch would not fit before the deadline.
  bool batching = true;
  std::vector<std::uint64_t> take_batch(int ranks) {
    std::vector<std::uint64_t> batch;
    if (stop_requested()) return batch;
    const std::lock_guard lock(take_mutex);
    std::size_t n = 1;
    if (batching && estimated_done > 0.0 && !pending.empty()) {
      const double r = rate();
      n = batch_runs(pending.size(), [&](std::size_t i) { return grid->cost_estimate(pending[i]) * r; },
                     pending_estimate * r, ranks);
      if (stop_at) {
        double seconds = 0.0;
        for (std::size_t i = 0; i < n; ++i) seconds += grid->cost_estimate(pending[i]) * r;
        if (!fits(seconds)) n = 1;
      }
    }
    if (n == 1) {
      if (const auto id = take_locked()) batch.push_back(*id);
      return batch;
    }
    for (std::size_t i = 0; i < n; ++i) batch.push_back(pop(true));
    return batch;
  }
};

double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

}  // namespace

std::size_t batch_runs(std::size_t pending, const std::function<double(std::size_t)>& seconds_of,
                       double remaining_seconds, int ranks) {
  if (pending == 0) return 0;
  const double per_message = std::max(kBatchSeconds, kBatchSecondsPerRank * ranks);
  const double budget = std::min(per_message, remaining_seconds / (kBatchBalance * std::max(ranks, 1)));
  std::size_t n = 1;
  double seconds = seconds_of(0);
  while (n < pending && n < kMaxBatch) {
    const double next = seconds_of(n);
    if (!(seconds + next <= budget * (1.0 + 1e-12))) break;  // not lost to rounding
    seconds += next;
    ++n;
  }
  return n;
}

SweepOutcome coordinate(const SweepConfig& config, const Grid& grid, const std::vector<std::uint64_t>& order,
                        int ranks, const SchedulerHooks& hooks, const SchedulerOptions& options) {
  const double cpu_at_start = thread_cpu_seconds();
  const auto dispatch = std::make_shared<Dispatch>();
  dispatch->pending.assign(order.begin(), order.end());
  dispatch->grid = &grid;
  dispatch->batching = options.batching;
  for (const std::uint64_t id : order) dispatch->pending_estimate += grid.cost_estimate(id);
  const RunFunction run = options.run ? options.run : [&config, &grid](std::uint64_t id, int rank, CancelCheck cancelled) {
    return run_task(config, grid, id, rank, cancelled);
  };
  if (options.deadline) dispatch->stop_at = *options.deadline - kDeadlineLead;
  const std::optional<Clock::time_point>& stop_at = dispatch->stop_at;
  std::thread compute([dispatch, run] {
    Dispatch& d = *dispatch;
    try {
      while (true) {
        // Results this thread has not yet seen delivered wait here: rank 0's memory stays
        // bounded however short the runs (the coordinating thread takes microseconds a row).
        while (!stop_requested() && d.local_backlog() >= kLocalBacklog)
          std::this_thread::sleep_for(std::chrono::microseconds(100));
        const auto id = d.take();
        if (!id) break;
        d.local_busy = true;
        TaskResult result = run(*id, 0, stop_requested);
        {
          const std::lock_guard lock(d.mutex);
          d.local_results.push_back(std::move(result));
        }
        d.local_busy = false;
      }
    } catch (...) {
      d.compute_error = std::current_exception();
      request_stop(kStopFromAnotherRank);
    }
    d.local_done = true;
  });
  std::size_t delivered = 0;
  SweepOutcome outcome;
  std::optional<Clock::time_point> stopped_at;
  // Whatever goes wrong on this thread, the computing one is wound down and joined first.
  try {
    const auto deliver = [&](TaskResult&& result) {
      if (result.rows.size() != grid.conditions_per_run()) {
        // Cancelled half-way: a stop reached that rank, so the whole sweep stops.
        request_stop(kStopFromAnotherRank);
        return;
      }
      ++delivered;
      outcome.load.rows += result.rows.size();
      {
        const std::lock_guard lock(dispatch->take_mutex);
        dispatch->estimated_done += grid.cost_estimate(result.train_id);
        // Rows computed here: not those left to rank 0 (--extend, done = 0) nor a failed run's NaN.
        for (const ResultRow& row : result.rows)
          if (row.done == 1 && std::isfinite(row.seconds)) dispatch->seconds_done += row.seconds;
      }
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
          messages::unpack_batch(buffer, received);
          for (TaskResult& result : received) deliver(std::move(result));
        }
      }
      const bool compute_finished = dispatch->local_done;
      std::deque<TaskResult> ready;
      {
        const std::lock_guard lock(dispatch->mutex);
        ready.swap(dispatch->local_results);
      }
      for (auto& result : ready) deliver(std::move(result));
      progressed = progressed || !ready.empty();
      int busy_ranks = dispatch->local_busy ? 1 : 0;
      for (char b : busy) busy_ranks += b;
      hooks.on_tick(busy_ranks);
      if (workers == 0 && compute_finished && ready.empty()) break;
      if (stop_at && Clock::now() >= *stop_at) request_stop(kStopAtDeadline);
      if (stop_requested() && !stopped_at) {
        // The busy ranks abandon their runs (a stop may have reached this rank alone).
        stopped_at = Clock::now();
        for (int r = 1; r < ranks; ++r)
          if (busy[r]) MPI_Send(nullptr, 0, MPI_BYTE, r, messages::kCancel, MPI_COMM_WORLD);
      }
      if (stopped_at && std::chrono::duration<double>(Clock::now() - *stopped_at).count() > options.stop_grace_seconds) {
        // A rank that does not answer a stop (stopped, hung, in a computation that cannot be
        // interrupted), this one's own thread included, is not waited for: what the others
        // finished is kept.
        if (!compute_finished && dispatch->local_busy) outcome.unanswered.push_back(0);
        for (int r = 1; r < ranks; ++r)
          if (busy[r]) outcome.unanswered.push_back(r);
        if (!outcome.unanswered.empty()) break;
      }
      if (progressed)
        backoff.reset();
      else
        backoff.sleep();
    }
  } catch (...) {
    request_stop(kStopFromAnotherRank);
    compute.join();
    throw;
  }
  if (!outcome.unanswered.empty() && outcome.unanswered.front() == 0) {
    compute.detach();  // still in its run; the job ends (end_job) without it
  } else {
    compute.join();
    if (dispatch->compute_error) std::rethrow_exception(dispatch->compute_error);
  }
  outcome.load.cpu_seconds = thread_cpu_seconds() - cpu_at_start;
  outcome.end = !outcome.unanswered.empty()      ? SweepEnd::abandoned
                : delivered == order.size() ? SweepEnd::complete
                                            : SweepEnd::stopped;
  return outcome;
}

void work(const SweepConfig& config, const Grid& grid, int rank, const RunFunction& run_function) {
  const RunFunction run = run_function ? run_function : [&config, &grid](std::uint64_t id, int r, CancelCheck cancelled) {
    return run_task(config, grid, id, r, cancelled);
  };
  std::vector<std::uint64_t> batch;
  std::vector<TaskResult> results;
  MPI_Send(nullptr, 0, MPI_BYTE, 0, messages::kReady, MPI_COMM_WORLD);
  Backoff backoff;
  while (true) {
    MPI_Status status;
    int flag = 0;
    backoff.reset();
    while (MPI_Iprobe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status) == MPI_SUCCESS && !flag) backoff.sleep();
    if (status.MPI_TAG == messages::kCancel) {  // came after this rank's run had ended
      MPI_Recv(nullptr, 0, MPI_BYTE, 0, messages::kCancel, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      request_stop(kStopFromAnotherRank);
      continue;
    }
    if (status.MPI_TAG == messages::kStop) {
      MPI_Recv(nullptr, 0, MPI_BYTE, 0, messages::kStop, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      return;
    }
    int count = 0;
    MPI_Get_count(&status, MPI_UINT64_T, &count);
    batch.resize(static_cast<std::size_t>(count));
    MPI_Recv(batch.data(), count, MPI_UINT64_T, 0, messages::kTask, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    // The batch's results go back together; a run cancelled half-way ends it (rank 0 sees a
    // result with rows missing, and the runs after it were never started).
    results.clear();
    for (const std::uint64_t train_id : batch) {
      results.push_back(run(train_id, rank, worker_cancelled));
      if (results.back().rows.size() != grid.conditions_per_run()) break;
    }
    const std::vector<std::byte> bytes = messages::pack_batch(results);
    MPI_Request request;
    MPI_Isend(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, 0, messages::kResult, MPI_COMM_WORLD, &request);
    wait_for(request);
  }
}

}  // namespace icl
