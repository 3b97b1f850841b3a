#include "schedule/progress.hpp"

#include <algorithm>
#include <cstdio>

namespace icl {

Progress::Progress(std::uint64_t rows_total, int ranks, double interval_seconds,
                   const double (&cost_left)[CostRates::kClasses], std::string devices)
    : rows_total_(rows_total),
      ranks_(ranks),
      interval_(interval_seconds),
      cost_left_{cost_left[0], cost_left[1]},
      devices_(devices.empty() ? std::string() : "; " + devices),
      start_(Clock::now()),
      last_(start_) {}

double Progress::elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

void Progress::finished(int device_class, double cost, double seconds) { done_.add(device_class, cost, seconds); }

void Progress::tick(std::uint64_t rows_done, int busy_ranks) {
  if (interval_ <= 0.0) return;
  const auto now = Clock::now();
  if (std::chrono::duration<double>(now - last_).count() < interval_) return;
  last_ = now;
  const double seconds = elapsed();
  const auto done = static_cast<double>(rows_done);
  const auto total = static_cast<double>(rows_total_);
  const double rate = done / seconds;
  char eta[48] = "ETA unknown";  // until a run is done here
  if (done_.seconds_done() > 0.0) {
    double work_left = 0.0;  // seconds of runs
    for (int c = 0; c < CostRates::kClasses; ++c)
      work_left += std::max(0.0, cost_left_[c] - done_.estimated[c]) * done_.rate(c);
    std::snprintf(eta, sizeof eta, "ETA %.0f s", work_left * seconds / done_.seconds_done());
  }
  std::fprintf(stderr, "icl-sweep: %llu/%llu rows (%.1f%%), %.1f rows/s, %s, %d/%d ranks busy%s\n",
               static_cast<unsigned long long>(rows_done), static_cast<unsigned long long>(rows_total_),
               100.0 * done / total, rate, eta, busy_ranks, ranks_, devices_.c_str());
}

void Progress::finish(std::uint64_t rows_done, const std::string& output) const {
  const double seconds = elapsed();
  std::fprintf(stderr, "icl-sweep: done, %llu/%llu rows in %.1f s (%.1f rows/s) on %d ranks: %s\n",
               static_cast<unsigned long long>(rows_done), static_cast<unsigned long long>(rows_total_),
               seconds, static_cast<double>(rows_done) / seconds, ranks_, output.c_str());
}

}  // namespace icl
