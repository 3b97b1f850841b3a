#pragma once
#include <cstdint>
#include <string>

#include "config/sweep_identity.hpp"
#include "task/run_task.hpp"

namespace icl {

// The training state of unfinished sampled runs, one file per run in OUTPUT.checkpoints/, written
// by the rank that trains it (the directory must be shared by the nodes, like the output):
//   "ICLCKPT1", u64 length, [u64 sweep identity digest, u64 train_id, state], u64 checksum,
// written to a temporary file, synced and renamed, so that a torn write never replaces a good
// checkpoint. A file of another sweep or run, or a damaged one, reads as none (with a warning).
class RunCheckpoints : public TrainingCheckpoints {
 public:
  RunCheckpoints(const std::string& output, const SweepIdentity& identity);
  std::string load(std::uint64_t train_id) const override;  // "" when there is no usable checkpoint
  void save(std::uint64_t train_id, const std::string& state) const override;
  void remove(std::uint64_t train_id) const;  // once the run's result is in the journal
  void remove_all() const;                    // the directory: at a fresh start and at the end

  static std::string directory(const std::string& output) { return output + ".checkpoints"; }

 private:
  std::string path(std::uint64_t train_id) const;
  std::string directory_;
  std::uint64_t identity_ = 0;
};

}  // namespace icl
