// Ranks > 0: ask rank 0 for work, compute it, send it back, until told to stop.
#include <mpi.h>

#include <chrono>
#include <stdexcept>

#include "schedule/messages.hpp"
#include "schedule/mpi_session.hpp"
#include "schedule/scheduler.hpp"
#include "schedule/stop_signals.hpp"

namespace icl {
namespace {

using Clock = std::chrono::steady_clock;

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

}  // namespace

void work(int rank, std::uint64_t rows_per_run, const RunFunction& run) {
  if (!run) throw std::invalid_argument("work: no function to run a task");
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
      if (results.back().rows.size() != rows_per_run) break;
    }
    const std::vector<std::byte> bytes = pack_batch(results);
    MPI_Request request;
    MPI_Isend(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, 0, messages::kResult, MPI_COMM_WORLD, &request);
    wait_for(request);
  }
}

}  // namespace icl
