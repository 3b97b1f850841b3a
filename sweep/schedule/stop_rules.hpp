#pragma once
#include <chrono>
#include <optional>
#include <vector>

namespace icl {

// When a sweep stops, and when it stops waiting for ranks. A deadline reached requests a stop;
// at the first stop (a signal, a cancelled run, a failure, the deadline) the busy ranks are to
// be told to abandon their runs; `grace_seconds` after it, the ranks still busy are given up
// on. No MPI: the coordinator sends what the verdict says.
class StopRules {
 public:
  using Clock = std::chrono::steady_clock;
  StopRules(std::optional<Clock::time_point> stop_at, double grace_seconds)
      : stop_at_(stop_at), grace_seconds_(grace_seconds) {}

  struct Verdict {
    bool cancel_busy = false;     // the stop has just begun: tell the busy ranks
    std::vector<int> unanswered;  // the grace period is over: these ranks are not waited for
  };
  // Once a pass: `busy[r]` for the other ranks, `local_busy` for rank 0's own thread.
  Verdict check(const std::vector<char>& busy, bool local_busy);

 private:
  std::optional<Clock::time_point> stop_at_;
  double grace_seconds_;
  std::optional<Clock::time_point> stopped_at_;
};

}  // namespace icl
