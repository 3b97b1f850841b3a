#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "task/task_result.hpp"

namespace icl {

// The journal is what makes a sweep crash-safe. The HDF5 file is a view that a writer killed
// mid-call can leave unreadable (metadata in HDF5's cache, a chunk index half updated), so
// every finished training run is first appended here, as one self-checking record:
//   header : "ICLJRNL1", u64 length, the sweep's identity (sweep_identity.hpp), u64 checksum
//   record : "RUN2", u64 length, [u64 the header's checksum, the run's result as pack() lays it out
//            (task/task_result.hpp)], u64 checksum
// Records are self-delimiting and found again after damage: where a record does not check, the
// reader scans forward for the next magic whose record does. A process killed mid-append leaves
// a torn record at the end; a bad disk block or a stray write can damage one anywhere. Each
// record names the sweep it belongs to (the checksum of its journal's header, the sweep's
// identity, as the training checkpoints do): a record of another sweep (journals spliced or
// copied together) is no record of this one, reported like damage, and its run is computed again.
// --resume rebuilds the HDF5 file from the journal's intact records, then computes the rest.
// Another process holds the journal: a second icl-sweep on the same output.
struct JournalLocked : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What Journal::resume read.
struct JournalRecovery {
  std::string config;               // the header
  std::vector<TaskResult> records;  // every intact record, in file order
  // Bytes that are no intact record of this sweep: a torn tail (at_end), damage in the middle,
  // or intact records of another sweep (foreign_records of them, one after the other).
  struct Gap {
    std::uint64_t offset = 0, length = 0;
    bool at_end = false;
    std::uint64_t foreign_records = 0;
  };
  std::vector<Gap> gaps;
  // Where the original journal was kept when damage lay before intact records (the journal
  // itself is then rewritten with the intact records alone); empty otherwise.
  std::string kept_aside;
};

// The names under which damaged journals of `path` are kept until the sweep completes:
// path.damaged, path.damaged.1, ... (those that exist).
std::vector<std::string> damaged_journals(const std::string& path);

class Journal {
 public:
  // Starts a new journal (truncating), holding `config`.
  static Journal create(const std::string& path, const std::string& config);
  // Opens an existing journal for appending and reads it. Every intact record comes back, also
  // those after a damaged one. A torn tail is cut; damage before intact records makes a clean
  // journal of the intact records (written beside it, renamed over it) and keeps the original as
  // the first free name of damaged_journals(). Throws std::runtime_error when the file is
  // missing, not a journal, or its header is damaged.
  static Journal resume(const std::string& path, JournalRecovery& found);
  // The config (header) of the journal at `path`, without locking or changing it; throws
  // std::runtime_error when it cannot be read or is not a journal.
  static std::string read_header(const std::string& path);
  // Every intact record of the journal at `path` as it is now, without locking or changing it
  // (a sweep may be writing it: a record being appended reads as a torn tail). Throws
  // std::runtime_error when the file is missing, not a journal, or its header is damaged.
  static JournalRecovery read(const std::string& path);

  void append(const TaskResult& result);
  void sync();  // fdatasync: survives the node, not only the process

  Journal(Journal&& other) noexcept;
  Journal& operator=(Journal&& other) noexcept;
  ~Journal();

 private:
  Journal(int fd, std::uint64_t sweep) : fd_(fd), sweep_(sweep) {}
  // A clean journal of `found`'s header and records at rewrite_path(path), locked and on disk.
  static Journal write_clean_copy(const std::string& path, const JournalRecovery& found);

 public:
  // Where a damaged journal's clean copy is written before it is renamed over it: a name of this
  // process's own, path.rewrite-PID.
  static std::string rewrite_path(const std::string& path);

 private:
  int fd_ = -1;
  std::uint64_t sweep_ = 0;  // the header's checksum, which every record carries
};

}  // namespace icl
