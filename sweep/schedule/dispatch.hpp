#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "schedule/cost_rates.hpp"
#include "schedule/scheduler.hpp"

namespace icl {

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

// The runs not yet handed out and the rule that hands them out, shared by rank 0's coordinating
// thread (batches for the other ranks) and its computing thread (one run at a time). The runs go
// costliest first; with a deadline, the first that fits the time left goes: the costliest, else
// the cheapest. Every finished run's measured seconds refine the rate that turns cost estimates
// into seconds, one for the runs on the CPU and one for those on a GPU (CostRates). Thread-safe;
// hands out nothing once a stop is requested.
class Dispatch {
 public:
  using Clock = std::chrono::steady_clock;
  // `stop_at`: the moment by which a run handed out must be estimated to end.
  Dispatch(const Workload& workload, bool batching, std::optional<Clock::time_point> stop_at);

  // One run, or none once stopped or when nothing fits before the deadline.
  std::optional<std::uint64_t> take();
  // A batch for one of `ranks` ranks (batch_runs), or one run before any rate is measured and
  // where the batch would not fit before the deadline; empty when take() would give none.
  std::vector<std::uint64_t> take_batch(int ranks);
  // A whole run delivered: its estimate and the seconds of the rows it computed make the rate.
  void finished(const TaskResult& result);

 private:
  int device_class(std::uint64_t id) const { return class_ ? class_(id) : 0; }
  double seconds_of(std::uint64_t id) const { return cost_(id) * rates_.rate(device_class(id)); }
  bool fits(double seconds) const { return Clock::now() + std::chrono::duration<double>(seconds) <= *stop_at_; }
  bool fits(std::uint64_t id) const { return fits(seconds_of(id)); }
  std::uint64_t pop(bool front);
  std::optional<std::uint64_t> take_locked();

  std::mutex mutex_;
  std::deque<std::uint64_t> pending_;
  std::function<double(std::uint64_t)> cost_;
  std::function<int(std::uint64_t)> class_;
  double pending_estimate_[CostRates::kClasses] = {0.0, 0.0};  // the cost estimates of pending_, summed by class
  CostRates rates_;  // the measured rates: seconds per estimated unit
  bool batching_ = true;
  std::optional<Clock::time_point> stop_at_;
};

}  // namespace icl
