#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "run_task.hpp"

namespace icl {

// The journal is what makes a sweep crash-safe. The HDF5 file is a view that a writer killed
// mid-call can leave unreadable (metadata in HDF5's cache, a chunk index half updated), so
// every finished training run is first appended here, as one self-checking record:
//   header : "ICLJRNL1", u64 length, the sweep's identity (sweep_identity.hpp), u64 checksum
//   record : "RUN1", u64 length, the run's result as messages::pack() lays it out, u64 checksum
// A process killed mid-append leaves at most one torn record at the end, which reading drops.
// --resume rebuilds the HDF5 file from the journal's records, then computes the rest.
// Another process holds the journal: a second icl-sweep on the same output.
struct JournalLocked : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Journal {
 public:
  // Starts a new journal (truncating), holding `config`.
  static Journal create(const std::string& path, const std::string& config);
  // Opens an existing journal for appending; returns its config and every intact record, and
  // cuts a torn tail. Throws std::runtime_error when the file is missing or not a journal.
  static Journal resume(const std::string& path, std::string& config, std::vector<TaskResult>& records);

  // The config (header) of the journal at `path`, without locking or changing it; throws
  // std::runtime_error when it cannot be read or is not a journal.
  static std::string read_header(const std::string& path);

  void append(const TaskResult& result);
  void sync();  // fdatasync: survives the node, not only the process

  Journal(Journal&& other) noexcept;
  Journal& operator=(Journal&& other) noexcept;
  ~Journal();

 private:
  explicit Journal(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace icl
