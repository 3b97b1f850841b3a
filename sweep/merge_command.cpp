// icl-sweep merge (--merge), on rank 0: one file from finished sweeps' files.
#include <cstdio>
#include <optional>

#include "store/extend.hpp"
#include "sweep_command.hpp"

namespace icl {

// --merge, on rank 0 (the others only agree): the union of the inputs' grids, every row an input
// holds copied; complete when they hold every run whole. Inputs that leave rows of the union
// unheld are refused (a results file holds its whole grid), unless --fill: then the output keeps
// what they hold, stopped and resumable.
int merge_command(const CommandLine& cl) {
  std::optional<SweepConfig> config;
  try {
    config.emplace(Extension::union_config(cl.merge, cl.output));
  } catch (const ExtendRefusal& e) {
    std::fprintf(stderr, "icl-sweep: --merge %s\n", e.what());
    return kExitBadInput;
  }
  const Grid grid(*config);
  std::optional<Extension> merged;
  try {
    merged.emplace(Extension::merge(cl.merge, *config, grid));
  } catch (const ExtendRefusal& e) {
    std::fprintf(stderr, "icl-sweep: --merge %s\n", e.what());
    return kExitBadInput;
  }
  if (merged->reused_rows() < grid.rows() && !cl.fill) {
    std::string inputs, quoted;
    for (const std::string& path : cl.merge) {
      inputs += " " + path;
      quoted += std::string(quoted.empty() ? "" : ", ") + "\"" + path + "\"";
    }
    std::fprintf(stderr,
                 "icl-sweep: --merge %s: the inputs hold %llu of the %llu rows of the union of their grids; %llu rows "
                 "are in none (the first: %s). A results file holds its whole grid, so nothing is written. Read them "
                 "together as they are with icl_sweep.load([%s]) (rows several hold counted once), or compute the "
                 "missing rows: icl-sweep merge%s --output %s --fill, then icl-sweep --resume %s (under mpirun)\n",
                 merged->sources().c_str(), static_cast<unsigned long long>(merged->reused_rows()),
                 static_cast<unsigned long long>(grid.rows()),
                 static_cast<unsigned long long>(grid.rows() - merged->reused_rows()), merged->first_missing().c_str(),
                 quoted.c_str(), inputs.c_str(), cl.output.c_str(), cl.output.c_str());
    return kExitBadInput;
  }
  std::optional<SweepStore> store;
  if (const auto refused = open_store(*config, grid, cl, 1, store)) return *refused;
  for (std::uint64_t id = 0; id < grid.runs(); ++id)
    if (merged->whole(id)) store->record(merged->take(id));
  if (store->rows_done() == grid.rows()) {
    store->finish();
    std::fprintf(stderr, "icl-sweep: merged %zu files into %s: %llu rows\n", cl.merge.size(), cl.output.c_str(),
                 static_cast<unsigned long long>(grid.rows()));
    return kExitOk;
  }
  store->checkpoint();
  std::fprintf(stderr,
               "icl-sweep: merged %zu files into %s: %llu of the %llu rows of the union of their grids written (the "
               "inputs hold %llu; a run they hold only in part is computed whole); the %llu runs no input holds whole "
               "are computed by icl-sweep --resume %s\n",
               cl.merge.size(), cl.output.c_str(), static_cast<unsigned long long>(store->rows_done()),
               static_cast<unsigned long long>(grid.rows()), static_cast<unsigned long long>(merged->reused_rows()),
               static_cast<unsigned long long>(grid.runs() - merged->whole_runs()), cl.output.c_str());
  return kExitStopped;
}

}  // namespace icl
