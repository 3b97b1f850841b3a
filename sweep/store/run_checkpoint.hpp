#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "config/sweep_identity.hpp"
#include "task/run_task.hpp"

namespace icl {

// The training state of unfinished sampled runs, one file per run in OUTPUT.checkpoints/, written
// by the rank that trains it (the directory must be shared by the nodes, like the output):
//   "ICLCKPT1", u64 length, [u64 sweep identity digest, u64 train_id, state], u64 checksum,
// written to a temporary file, synced and renamed, so that a torn write never replaces a good
// checkpoint. A file of another sweep or run, or a damaged one, reads as none (with a warning).
// Nothing in the directory that icl-sweep did not write is removed or replaced: save() refuses
// to rename over it (the run trains on, without checkpoints), remove() and remove_all() leave it;
// a directory that icl-sweep did not make (it holds no file .icl-sweep-checkpoints) stays, emptied.
class RunCheckpoints : public TrainingCheckpoints {
 public:
  RunCheckpoints(const std::string& output, const SweepIdentity& identity);
  std::string load(std::uint64_t train_id) const override;  // "" when there is no usable checkpoint
  void save(std::uint64_t train_id, const std::string& state) const override;
  // A copy of what a finished file keeps durably (--extend hands a run its stored model): the same
  // file, without waiting for the disk (a copy lost in a crash is made again, or the run trained).
  void save_copy(std::uint64_t train_id, const std::string& state) const;
  void remove(std::uint64_t train_id) const;  // once the run's result is in the journal
  void remove_all() const;                    // the directory: at a fresh start and at the end

  static std::string directory(const std::string& output) { return output + ".checkpoints"; }
  // What is at directory(output) that icl-sweep did not write: the path itself when it is not a
  // directory, else each entry that is not its own file (own_file). Empty when nothing is there.
  static std::vector<std::string> strays(const std::string& output);
  // Whether `path` is provably a file this program wrote there: a regular file named run-N or
  // run-N.tmp-PID that begins with the checkpoint's magic (or, a temporary, is empty: a write cut
  // off before its first byte). Only such files are ever removed or replaced.
  static bool own_file(const std::string& path);

 private:
  std::string path(std::uint64_t train_id) const;
  void write(std::uint64_t train_id, const std::string& state, bool durable) const;
  std::string directory_;
  std::uint64_t identity_ = 0;
};

}  // namespace icl
