#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "task/grid.hpp"
#include "store/results_file.hpp"
#include "task/run_task.hpp"
#include "config/sweep_config.hpp"

namespace icl {

// Rows of finished sweeps refused for reuse: the user's input (exit 2, nothing written).
struct ExtendRefusal : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The rows of finished sweeps reused in a grid (docs/interface.md, "Extending a sweep" and
// "Merging files"). Rows depend only on their own keys and the sweep's settings, so a finished
// file's row is bitwise the row this build would compute at the same grid point: it is copied, not
// computed. A run all of whose conditions some file holds is taken whole; a run with conditions no
// file holds evaluates only those, with the model the file keeps for it (stored_model: the flow's
// A, a sampled model's final state), or trained again where the file keeps none (a failed run);
// either way its trajectory and weights are checked against the file's.
class Extension {
 public:
  // --extend: OLD must be a complete results file of this schema, from this build, with the same
  // settings but for the grid axes (the config's list keys) and sweep.name, and every old grid
  // point must be in `grid`. Throws ExtendRefusal saying what is wrong.
  static Extension plan(const std::string& old_path, const SweepConfig& config, const Grid& grid);
  // --merge: the same checks for each input against `config` (whose grid is their union), and rows
  // or trajectories that several inputs hold must agree bitwise (timing columns aside).
  static Extension merge(const std::vector<std::string>& inputs, const SweepConfig& config, const Grid& grid);
  // The config of a merge: the first input's, each grid list the union of the inputs' values in
  // the order they first appear, output `output`. Throws ExtendRefusal.
  static SweepConfig union_config(const std::vector<std::string>& inputs, const std::string& output);

  std::string sources() const;  // the file names, for messages
  std::uint64_t reused_rows() const { return reused_; }
  // The first row of the grid that no file holds, as its grid values; "" when every row is held.
  const std::string& first_missing() const { return first_missing_; }
  std::uint64_t whole_runs() const { return whole_; }
  std::uint64_t partial_runs() const { return partial_; }
  bool whole(std::uint64_t train_id) const;
  // Per (run, condition) of the grid, runs x conditions: 1 where a file holds the row. Every rank
  // needs it (run_task leaves those conditions to rank 0).
  const std::vector<std::uint8_t>& found() const { return found_; }

  // A whole run's result, all from the files.
  TaskResult take(std::uint64_t train_id) const;
  // The model a file keeps for a run that is not whole, as run_task takes it back through the
  // run's checkpoint (task/stored_model.hpp); "" where there is none (a failed run: trained again).
  std::string stored_model(std::uint64_t train_id) const;
  // Completes a computed run: the files' rows go where run_task left conditions out. Throws
  // std::runtime_error if the recomputed trajectory or weights are not the file's.
  void complete(TaskResult& result) const;

 private:
  struct Source {
    std::string path;
    ResultsFile file;
    std::uint64_t conditions = 0;
  };
  struct Place {  // where a row, or a run's trajectory and weights, of the grid is found
    std::int32_t source = -1;
    std::uint64_t index = 0;  // the row, or the run, in that source
  };
  Extension() = default;
  // Opens and checks one finished file against `config`; its stored config.
  static SweepConfig check_source(const std::string& path, const SweepConfig& config, std::optional<ResultsFile>& file);
  // Maps every row of `source` into `grid`; rows and trajectories already placed must agree.
  void add(Source source, const SweepConfig& source_config, const Grid& grid, bool whole_source_required);
  ResultRow row_at(const Place& place) const;
  // What a file holds of a run beyond its rows: its trajectory and its kept weights, the run's own
  // `parameters` of them (the file pads each run to its grid's widest).
  struct RunExtras {
    std::vector<StoredSample> trajectory;
    std::vector<double> parameters;
    bool same_as(const std::vector<StoredSample>& t, const std::vector<double>& p) const;
  };
  RunExtras extras_at(const Place& place, std::uint64_t parameters) const;
  ResultRow placed_row(std::uint64_t train_id, std::uint64_t condition) const;

  // The chunk of a source's rows read last: rows are read a chunk at a time (reading one row
  // inflates its whole chunk), and rows are asked for in order.
  struct RowBlock {
    std::int32_t source = -1;
    std::uint64_t first = 0;
    std::vector<ResultRow> rows;
  };
  mutable RowBlock block_;

  std::vector<Source> sources_;
  std::uint64_t conditions_ = 0;
  std::vector<Place> row_place_;   // per grid row
  std::vector<Place> run_place_;   // per grid run: a trajectory and weights
  std::vector<std::uint8_t> found_;
  std::uint64_t reused_ = 0, whole_ = 0, partial_ = 0;
  std::string first_missing_;
};

}  // namespace icl
