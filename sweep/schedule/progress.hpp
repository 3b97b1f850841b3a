#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace icl {

// Progress lines on stderr: rows done/total, rows/s, ETA, ranks busy; then one summary line.
class Progress {
 public:
  Progress(std::uint64_t rows_total, int ranks, double interval_seconds);
  void tick(std::uint64_t rows_done, int busy_ranks);  // prints when the interval has passed
  void finish(std::uint64_t rows_done, const std::string& output) const;
  double elapsed() const;

 private:
  using Clock = std::chrono::steady_clock;
  std::uint64_t rows_total_;
  int ranks_;
  double interval_;
  Clock::time_point start_, last_;
};

}  // namespace icl
