#pragma once
#include <functional>

#include "task/grid.hpp"
#include "schedule/scheduler.hpp"
#include "config/sweep_config.hpp"
#include "store/sweep_store.hpp"

namespace icl {

// Rank 0's part of a sweep once its store is open: the runs not yet done, costliest first, go
// to coordinate(); every result is recorded as it arrives, a checkpoint written every
// kCheckpointEvery and at a stop; a complete sweep is finished (store.finish) and its summary
// printed. The caller reports a stop.
inline constexpr auto kCheckpointEvery = std::chrono::seconds(10);
// `complete`, when given, sees every finished run before it is recorded (--extend fills in the
// rows it reuses).
// `run` computes rank 0's own share. `devices`: where the sampled models train, for the progress
// line ("4 rank(s) on cuda: NVIDIA H100 80GB HBM3, fp32"); empty on the CPU.
SweepOutcome lead_sweep(const SweepConfig& config, const Grid& grid, int ranks, double progress_seconds,
                        const std::string& devices, const SchedulerOptions& scheduling, const RunFunction& run, SweepStore& store,
                        const std::function<void(TaskResult&)>& complete = {});

}  // namespace icl
