#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "task/grid.hpp"
#include "store/journal.hpp"
#include "store/results_file.hpp"
#include "store/run_checkpoint.hpp"
#include "task/run_task.hpp"
#include "config/sweep_identity.hpp"

namespace icl {

// What an output path holds before a sweep starts.
struct ExistingOutput {
  enum class Kind {
    nothing,     // neither the file nor its journal: a fresh start
    unfinished,  // a journal: the sweep can be resumed from it
    complete,    // a results file marked complete, no journal
    foreign,     // a file that is neither: not resumable, never overwritten without --force
  } kind = Kind::nothing;
  std::optional<SweepIdentity> identity;  // unfinished and complete
  std::string why;                         // foreign: what is wrong with it
};
ExistingOutput inspect_output(const std::string& output);

// Why `output` cannot be a sweep's output (a directory, a symbolic link, a directory that does
// not exist or cannot be written, a name too long for the names written beside it), or "".
std::string output_path_problem(const std::string& output);

// Refusals that are the user's input (an unusable output path, another writer on it): exit 2,
// nothing left behind.
struct StoreRefusal : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A start that the machine failed (a full disk, a write beyond ulimit -f): exit 1, nothing left behind.
struct StoreFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A readable results file at `path` holding `records` (the rows done; the others zero, done = 0),
// marked not complete: `icl-sweep --status --export`. Built under a temporary name beside it and
// renamed; throws StoreRefusal if `path` exists.
// The journal beside a sweep's output.
std::string journal_path(const std::string& output);

void write_snapshot(const std::string& path, const SweepIdentity& identity, const Grid& grid, int trajectory_points,
                    const std::vector<TaskResult>& records);

// Owns a sweep's journal and results file through their life: a finished run is recorded in
// the journal first (what a crash leaves behind), then in the file; a checkpoint makes both
// durable; finish() completes the file and removes the journal only once the file has been
// closed without error and reopened intact.
class SweepStore {
 public:
  // A fresh start: creates (truncating) the journal and the file. On failure removes what it
  // created and throws StoreRefusal (another writer holds the journal) or StoreFailure.
  static SweepStore create(const std::string& output, const SweepIdentity& identity, const Grid& grid,
                           int trajectory_points, int ranks);
  // Continues from the journal: rebuilds the file from its intact records (a writer killed
  // inside HDF5 can leave the file unreadable; the journal's records are exactly the finished
  // runs; after damage, every intact record). What was not intact is said in `notes`, one line
  // each. Throws std::runtime_error if the journal's identity is not `identity`.
  static SweepStore resume(const std::string& output, const SweepIdentity& identity, const Grid& grid,
                           int trajectory_points, int ranks, std::vector<std::string>& notes);

  bool done(std::uint64_t train_id) const { return done_[train_id] != 0; }
  std::uint64_t rows_done() const { return attributes_.rows_done; }
  std::uint64_t rows_total() const { return attributes_.rows_total; }

  // Journals the result at once; its rows reach the file in blocks (write_pending), at the
  // latest at the next checkpoint.
  void record(TaskResult&& result);
  void checkpoint();  // journal fdatasync, pending rows, attributes, HDF5 flush; throws on any failure
  // Marks the file complete, closes it, syncs it to disk, reopens and checks it (schema, every
  // row done), and only then removes the journal. Throws on any failure, journal kept.
  void finish();

  SweepStore(SweepStore&&) noexcept;
  SweepStore& operator=(SweepStore&&) noexcept;
  ~SweepStore();

 private:
  SweepStore(std::string output, Journal journal, ResultsFile file, FileAttributes attributes,
             std::uint64_t runs, std::uint64_t conditions);
  // Builds the file under a temporary name (holding `records`), renames it over the output.
  static SweepStore assemble(const std::string& output, Journal journal, const SweepIdentity& identity,
                             const Grid& grid, int trajectory_points, int ranks, const std::vector<TaskResult>& records);
  void put(TaskResult&& result);
  // Writes the results put since the last call, sorted, one HDF5 write per stretch of
  // consecutive runs: a write's cost is mostly fixed (HDF5 compares the row's compound type
  // at every call), so rank 0's time per row falls with the stretch.
  void write_pending();

  std::string output_;
  Journal journal_;
  std::optional<ResultsFile> file_;
  FileAttributes attributes_;
  std::uint64_t conditions_ = 0;
  std::vector<char> done_;
  std::optional<RunCheckpoints> checkpoints_;
  std::vector<std::uint64_t> finished_;  // runs journalled since the last sync
  std::vector<TaskResult> pending_;      // put, not yet in the file
  std::string kept_here_;                // the damaged journal this process kept aside, if any
  std::size_t pending_rows_ = 0, pending_parameters_ = 0;
};

}  // namespace icl
