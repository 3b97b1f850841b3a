#pragma once
#include <chrono>
#include <cstdint>
#include <string>

#include "schedule/cost_rates.hpp"

namespace icl {

// Progress lines on stderr: rows done/total, rows/s, ETA, ranks busy, where the models train;
// then one summary line. The ETA is the cost model's (Grid::cost_estimate): the estimated cost of
// the runs left, in seconds by the rate measured on this process's finished runs of each device
// class (CostRates: the CPU, a GPU), over the seconds of runs got through per second of wall
// time, so that it is right for runs of unequal cost (a row-rate ETA is not) and knows nothing of
// earlier processes or the pauses between them (a resumed sweep's rate is its own).
class Progress {
 public:
  // `cost_left`: the estimated cost of the runs this process is to compute, by device class.
  // `devices`: where the sampled models train, said at the end of the line; empty on the CPU.
  Progress(std::uint64_t rows_total, int ranks, double interval_seconds,
           const double (&cost_left)[CostRates::kClasses], std::string devices = {});
  // A run finished here: its class, estimated cost and seconds (computed_seconds).
  void finished(int device_class, double cost, double seconds);
  // Prints when the interval has passed.
  void tick(std::uint64_t rows_done, int busy_ranks);
  void finish(std::uint64_t rows_done, const std::string& output) const;
  double elapsed() const;

 private:
  using Clock = std::chrono::steady_clock;
  std::uint64_t rows_total_;
  int ranks_;
  double interval_, cost_left_[CostRates::kClasses];
  CostRates done_;  // the runs finished here
  std::string devices_;  // "; 4 rank(s) on cuda: ...", or empty
  Clock::time_point start_, last_;
};

}  // namespace icl
