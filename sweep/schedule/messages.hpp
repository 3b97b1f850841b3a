#pragma once

namespace icl::messages {

// Every message between ranks. Workers send kReady once, then one kResult per batch of runs
// (which also asks for the next; its payload is pack_batch's, task/task_result.hpp); rank 0
// answers each with kTask (the batch: u64 train_ids) or kStop. When a stop reaches rank 0 it
// sends kCancel (empty) to every busy worker, which abandons its run.
enum Tag : int { kReady = 1, kTask = 2, kStop = 3, kResult = 4, kCancel = 5 };

}  // namespace icl::messages
