#include "schedule/dispatch.hpp"

#include <algorithm>
#include <cmath>

#include "schedule/stop_signals.hpp"

namespace icl {

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

Dispatch::Dispatch(const Workload& workload, bool batching, std::optional<Clock::time_point> stop_at)
    : pending_(workload.order.begin(), workload.order.end()),
      cost_(workload.cost),
      class_(workload.device_class),
      batching_(batching),
      stop_at_(stop_at) {
  for (const std::uint64_t id : workload.order) pending_estimate_[device_class(id)] += cost_(id);
}

std::uint64_t Dispatch::pop(bool front) {
  const std::uint64_t id = front ? pending_.front() : pending_.back();
  if (front)
    pending_.pop_front();
  else
    pending_.pop_back();
  double& left = pending_estimate_[device_class(id)];
  left = std::max(0.0, left - cost_(id));
  return id;
}

std::optional<std::uint64_t> Dispatch::take_locked() {
  if (pending_.empty()) return std::nullopt;
  if (!stop_at_ || fits(pending_.front())) return pop(true);
  if (fits(pending_.back())) return pop(false);
  return std::nullopt;
}

std::optional<std::uint64_t> Dispatch::take() {
  if (stop_requested()) return std::nullopt;
  const std::lock_guard lock(mutex_);
  return take_locked();
}

std::vector<std::uint64_t> Dispatch::take_batch(int ranks) {
  std::vector<std::uint64_t> batch;
  if (stop_requested()) return batch;
  const std::lock_guard lock(mutex_);
  std::size_t n = 1;
  if (batching_ && rates_.measured() && !pending_.empty()) {
    double remaining = 0.0;
    for (int c = 0; c < CostRates::kClasses; ++c) remaining += pending_estimate_[c] * rates_.rate(c);
    n = batch_runs(pending_.size(), [&](std::size_t i) { return seconds_of(pending_[i]); }, remaining, ranks);
    if (stop_at_) {
      double seconds = 0.0;
      for (std::size_t i = 0; i < n; ++i) seconds += seconds_of(pending_[i]);
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

void Dispatch::finished(const TaskResult& result) {
  const std::lock_guard lock(mutex_);
  rates_.add(device_class(result.train_id), cost_(result.train_id), computed_seconds(result));
}

}  // namespace icl
