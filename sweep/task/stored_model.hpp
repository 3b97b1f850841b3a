#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "config/result_row.hpp"

namespace icl {

// A finished run's model as --extend hands it to the run that evaluates it on new conditions,
// through the run's checkpoint (run_task.hpp, TrainingCheckpoints): nothing is trained again.
//   - a sampled model: the trainer's final state (models/trainer.cpp; what /models keeps);
//   - the flow: its A (/parameters), a row of the run (the columns its training gives every
//     row: status, gf_time, gf_steps, loss_final, loss_min, rel_err, offblock_norm,
//     balance_drift) and its trajectory, as bytes:
//       "ICLFLOW1", u64 d, d*d f64 (row-major), the ResultRow, u64 points, the StoredSample bytes.
// Every rank runs the same binary, so the structs travel as bytes; the flow's record lives only in
// the checkpoint directory of an extension, never in a results file.
struct StoredFlow {
  std::vector<double> a;  // d x d, row-major
  ResultRow training;
  std::vector<StoredSample> trajectory;
};

std::string encode_flow(int d, std::span<const double> a, const ResultRow& training,
                        std::span<const StoredSample> trajectory);
// The record, when `bytes` is one for dimension d with `points` samples; nullopt otherwise.
std::optional<StoredFlow> decode_flow(const std::string& bytes, int d, std::size_t points);

}  // namespace icl
