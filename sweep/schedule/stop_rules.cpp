#include "schedule/stop_rules.hpp"

#include "schedule/stop_signals.hpp"

namespace icl {

StopRules::Verdict StopRules::check(const std::vector<char>& busy, bool local_busy) {
  Verdict verdict;
  if (stop_at_ && Clock::now() >= *stop_at_) request_stop(kStopAtDeadline);
  if (stop_requested() && !stopped_at_) {
    // The busy ranks abandon their runs (a stop may have reached this rank alone).
    stopped_at_ = Clock::now();
    verdict.cancel_busy = true;
  }
  if (stopped_at_ && std::chrono::duration<double>(Clock::now() - *stopped_at_).count() > grace_seconds_) {
    // A rank that does not answer a stop (stopped, hung, in a computation that cannot be
    // interrupted), this one's own thread included, is not waited for: what the others
    // finished is kept.
    if (local_busy) verdict.unanswered.push_back(0);
    for (int r = 1; r < static_cast<int>(busy.size()); ++r)
      if (busy[r]) verdict.unanswered.push_back(r);
  }
  return verdict;
}

}  // namespace icl
