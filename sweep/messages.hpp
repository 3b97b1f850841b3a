#pragma once
#include <cstddef>
#include <vector>

#include "run_task.hpp"

namespace icl::messages {

// Every message between ranks. Workers send kReady once, then one kResult per batch of runs
// (which also asks for the next); rank 0 answers each with kTask (the batch: u64 train_ids) or
// kStop. When a
// stop reaches rank 0 it sends kCancel (empty) to every busy worker, which abandons its run.
enum Tag : int { kReady = 1, kTask = 2, kStop = 3, kResult = 4, kCancel = 5 };

// kResult payload: u64 train_id, u64 row count, u64 sample count, the ResultRow bytes, the
// StoredSample bytes. Every rank runs the same binary, so the structs travel as bytes.
std::vector<std::byte> pack(const TaskResult& result);
TaskResult unpack(const std::vector<std::byte>& bytes);
// kResult of a batch: u64 count, then per result its u64 size and its pack() bytes.
std::vector<std::byte> pack_batch(const std::vector<TaskResult>& results);
void unpack_batch(const std::vector<std::byte>& bytes, std::vector<TaskResult>& results);

}  // namespace icl::messages
