#pragma once
#include <atomic>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include "schedule/dispatch.hpp"
#include "schedule/scheduler.hpp"

namespace icl {

// Rank 0's own share of the work: a thread that takes runs from the dispatch one at a time,
// computes them with `run` and leaves the results for the coordinating thread to collect. It
// never calls MPI. Its state is shared with the thread, so that a thread stuck in a computation
// that cannot be interrupted can be left behind (abandon) without outliving what it writes to.
class LocalWorker {
 public:
  // Results waiting to be collected, at most: rank 0's memory stays bounded however short the
  // runs (the coordinating thread takes microseconds a row).
  static constexpr std::size_t kBacklog = 64;

  // Starts the thread. A failure in it is kept for join() and stops the sweep.
  LocalWorker(std::shared_ptr<Dispatch> dispatch, RunFunction run);
  ~LocalWorker();  // joins a thread neither joined nor abandoned
  LocalWorker(const LocalWorker&) = delete;
  LocalWorker& operator=(const LocalWorker&) = delete;

  std::deque<TaskResult> collect();  // the results finished since the last call
  bool busy() const { return state_->busy; }          // in a run now
  bool finished() const { return state_->finished; }  // nothing more to take, or failed

  void join();            // waits for the thread; rethrows its failure
  void join_quietly();    // waits for the thread; its failure is dropped (an error is on its way)
  void abandon();         // leaves the thread in its run; the job ends without it (end_job)

 private:
  struct State {
    std::mutex mutex;
    std::deque<TaskResult> results;
    std::atomic<bool> busy{false}, finished{false};
    std::exception_ptr error;
  };
  std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace icl
