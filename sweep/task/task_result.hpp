#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "config/result_row.hpp"

namespace icl {

// Everything one training run contributes to the file: its rows (contiguous, starting at
// train_id * conditions_per_run), its trajectory, its trained weights (the run's own
// ModelSpec::stored_parameters values, none for a model that keeps none; the file pads them) and
// a sampled model's final training state (/models: what evaluates it again without training,
// task/stored_model.hpp; empty for the flow, whose A is its parameters, and for a run that failed).
struct TaskResult {
  std::uint64_t train_id = 0;
  std::vector<ResultRow> rows;
  std::vector<StoredSample> trajectory;
  std::vector<double> parameters;
  std::string model_state;
};

// A result as bytes, as it travels between ranks (schedule/messages.hpp, kResult) and into the
// journal (store/journal.hpp): u64 train_id, u64 row count, u64 sample count, u64 parameter
// count, u64 model state bytes, the ResultRow bytes, the StoredSample bytes, the parameters, the
// model state. Every rank runs the same binary, so the structs travel as bytes.
std::vector<std::byte> pack(const TaskResult& result);
TaskResult unpack(const std::vector<std::byte>& bytes);
// A batch: u64 count, then per result its u64 size and its pack() bytes.
std::vector<std::byte> pack_batch(const std::vector<TaskResult>& results);
void unpack_batch(const std::vector<std::byte>& bytes, std::vector<TaskResult>& results);

}  // namespace icl
