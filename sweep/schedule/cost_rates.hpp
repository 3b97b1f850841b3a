#pragma once
#include <cmath>
#include <cstdint>

#include "task/task_result.hpp"

namespace icl {

// The cost model estimates every run as if on a CPU core; a run whose model trains on a GPU
// (train.device = cuda) takes another time for the same estimate. The seconds per unit of
// estimated cost are therefore measured apart for each device class of run (0: the CPU, 1: a
// GPU), each from the runs of its class finished so far: a class with none yet borrows the other's
// rate, and with none at all the rate is 1.
struct CostRates {
  static constexpr int kClasses = 2;
  double estimated[kClasses] = {0.0, 0.0}, seconds[kClasses] = {0.0, 0.0};

  void add(int device_class, double estimate, double run_seconds) {
    estimated[device_class] += estimate;
    seconds[device_class] += run_seconds;
  }
  bool measured() const { return estimated[0] > 0.0 || estimated[1] > 0.0; }
  double rate(int device_class) const {
    if (estimated[device_class] > 0.0) return seconds[device_class] / estimated[device_class];
    const int other = 1 - device_class;
    return estimated[other] > 0.0 ? seconds[other] / estimated[other] : 1.0;
  }
  double seconds_done() const { return seconds[0] + seconds[1]; }
};

// The seconds a finished run took where it was computed: its rows' own, not those left to rank 0
// (--extend, done = 0) nor a failed run's NaN.
inline double computed_seconds(const TaskResult& result) {
  double total = 0.0;
  for (const ResultRow& row : result.rows)
    if (row.done == 1 && std::isfinite(row.seconds)) total += row.seconds;
  return total;
}

}  // namespace icl
