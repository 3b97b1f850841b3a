#include "schedule/local_worker.hpp"

#include <chrono>
#include <utility>

#include "schedule/stop_signals.hpp"

namespace icl {

LocalWorker::LocalWorker(std::shared_ptr<Dispatch> dispatch, RunFunction run) : state_(std::make_shared<State>()) {
  thread_ = std::thread([state = state_, dispatch = std::move(dispatch), run = std::move(run)] {
    State& s = *state;
    const auto backlog = [&s] {
      const std::lock_guard lock(s.mutex);
      return s.results.size();
    };
    try {
      while (true) {
        while (!stop_requested() && backlog() >= kBacklog) std::this_thread::sleep_for(std::chrono::microseconds(100));
        const auto id = dispatch->take();
        if (!id) break;
        s.busy = true;
        TaskResult result = run(*id, 0, stop_requested);
        {
          const std::lock_guard lock(s.mutex);
          s.results.push_back(std::move(result));
        }
        s.busy = false;
      }
    } catch (...) {
      s.error = std::current_exception();
      request_stop(kStopFromAnotherRank);
    }
    s.finished = true;
  });
}

LocalWorker::~LocalWorker() {
  if (thread_.joinable()) thread_.join();
}

std::deque<TaskResult> LocalWorker::collect() {
  std::deque<TaskResult> ready;
  const std::lock_guard lock(state_->mutex);
  ready.swap(state_->results);
  return ready;
}

void LocalWorker::join() {
  join_quietly();
  if (state_->error) std::rethrow_exception(state_->error);
}

void LocalWorker::join_quietly() {
  if (thread_.joinable()) thread_.join();
}

void LocalWorker::abandon() { thread_.detach(); }

}  // namespace icl
