#pragma once
#include <optional>

#include "command_line.hpp"
#include "config/sweep_config.hpp"
#include "schedule/mpi_session.hpp"
#include "store/sweep_store.hpp"
#include "task/grid.hpp"

namespace icl {

// Every rank: the sweep the command line asks for (start, --resume, --resume-or-start,
// --extend, --dry-run). Returns the exit status all ranks agreed on.
int sweep_command(const CommandLine& cl, const MpiSession& mpi);

// Rank 0: icl-sweep merge IN.h5 ... --output OUT (merge_command.cpp). Returns the exit status.
int merge_command(const CommandLine& cl);

// The policy of a start: fresh, resumed, already complete, or refused. Returns the exit status
// when the sweep must not run (nothing written on a refusal), nullopt with `store` open when it
// must.
std::optional<int> open_store(const SweepConfig& config, const Grid& grid, const CommandLine& cl, int ranks,
                              std::optional<SweepStore>& store);

}  // namespace icl
