#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "grid.hpp"
#include "results_file.hpp"
#include "run_task.hpp"
#include "sweep_config.hpp"

namespace icl {

// --extend OLD.h5 refused: the user's input (exit 2, nothing written).
struct ExtendRefusal : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The rows of a finished sweep reused in a larger grid (docs/interface.md, "Extending a sweep").
// Rows depend only on their own keys and the sweep's settings, so a row of OLD is bitwise the row
// this build would compute at the same grid point: it is copied, not computed. A run all of whose
// conditions OLD holds is taken whole; a run with new conditions is trained again (its model is
// not stored) and evaluates only those, its recomputed trajectory checked against OLD's.
class Extension {
 public:
  // Checks OLD against the sweep about to start: a complete results file of this schema, from
  // this build, with the same settings but for the grid axes (the config's list keys) and
  // sweep.name, and every old grid point in the new grid. Throws ExtendRefusal saying what differs.
  static Extension plan(const std::string& old_path, const SweepConfig& config, const Grid& grid);

  const std::string& source() const { return source_; }
  std::uint64_t reused_rows() const { return reused_; }
  std::uint64_t whole_runs() const { return whole_; }
  std::uint64_t partial_runs() const { return partial_; }
  bool whole(std::uint64_t train_id) const;
  // Per (run, condition) of the new grid, runs x conditions: 1 where OLD holds the row. Every rank
  // needs it (run_task leaves those conditions to rank 0).
  const std::vector<std::uint8_t>& found() const { return found_; }

  // A whole run's result, all from OLD.
  TaskResult take(std::uint64_t train_id) const;
  // Completes a computed run: OLD's rows go where run_task left conditions out. Throws
  // std::runtime_error if the recomputed trajectory is not OLD's.
  void complete(TaskResult& result) const;

 private:
  Extension(std::string source, ResultsFile old, std::uint64_t old_conditions, std::uint64_t conditions);
  ResultRow old_row(std::uint64_t train_id, std::uint64_t condition) const;

  std::string source_;
  ResultsFile old_;
  std::uint64_t old_conditions_ = 0, conditions_ = 0;
  std::vector<std::uint64_t> old_run_;   // per new run: its run in OLD, or kAbsent
  std::vector<std::int32_t> old_condition_;  // per new row: its condition in OLD's run, or -1
  std::vector<std::uint8_t> found_;
  std::uint64_t reused_ = 0, whole_ = 0, partial_ = 0;
};

}  // namespace icl
