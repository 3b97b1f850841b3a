// icl-sweep merge (--merge), on rank 0: one file from finished sweeps' files.
#include <cstdio>
#include <optional>

#include "store/extend.hpp"
#include "sweep_command.hpp"

namespace icl {

// --merge, on rank 0 (the others only agree): the union of the inputs' grids, every row an input
// holds copied; complete when they hold every run whole, else stopped and resumable.
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
               "icl-sweep: merged %zu files into %s: %llu of %llu rows of the union of their grids; the %llu runs no "
               "input holds whole are computed by icl-sweep --resume %s\n",
               cl.merge.size(), cl.output.c_str(), static_cast<unsigned long long>(store->rows_done()),
               static_cast<unsigned long long>(grid.rows()),
               static_cast<unsigned long long>(grid.runs() - merged->whole_runs()), cl.output.c_str());
  return kExitStopped;
}

}  // namespace icl
