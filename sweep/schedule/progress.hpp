#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace icl {

// Progress lines on stderr: rows done/total, rows/s, ETA, ranks busy; then one summary line.
// The ETA is the cost model's (Grid::cost_estimate): the estimated cost of the runs left over the
// rate at which this process has got through estimated cost, so that it is right for runs of
// unequal cost (a row-rate ETA is not) and knows nothing of earlier processes or the pauses
// between them (a resumed sweep's rate is its own).
class Progress {
 public:
  // `cost_left`: the estimated cost of the runs this process is to compute.
  Progress(std::uint64_t rows_total, int ranks, double interval_seconds, double cost_left);
  // Prints when the interval has passed; `cost_done`: the estimated cost of the runs finished here.
  void tick(std::uint64_t rows_done, int busy_ranks, double cost_done);
  void finish(std::uint64_t rows_done, const std::string& output) const;
  double elapsed() const;

 private:
  using Clock = std::chrono::steady_clock;
  std::uint64_t rows_total_;
  int ranks_;
  double interval_, cost_left_;
  Clock::time_point start_, last_;
};

}  // namespace icl
