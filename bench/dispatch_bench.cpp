// Loopback load test of the coordination path: rank 0 leads a sweep exactly as icl-sweep does
// (lead_sweep: batches by the cost model, the journal, the HDF5 file, checkpoints), but every
// run is a stand-in that busy-waits --run-us microseconds and returns a real run's rows under
// its own ids. Prints what rank 0's coordinating thread spent per row and per message, and the
// efficiency reached: sum of run time / (wall time x ranks).
//   mpiexec -n 8 --oversubscribe build/bench/dispatch_bench --runs 20000 --run-us 1000
#include <boost/program_options.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sys/resource.h>
#include <string>

#include "task/grid.hpp"
#include "lead_sweep.hpp"
#include "schedule/mpi_session.hpp"
#include "task/run_task.hpp"
#include "schedule/scheduler.hpp"
#include "config/sweep_config.hpp"
#include "config/sweep_identity.hpp"
#include "store/sweep_store.hpp"

using namespace icl;
namespace po = boost::program_options;

int main(int argc, char** argv) {
  MpiSession mpi(argc, argv);
  long runs = 20000, run_us = 1000, shifts = 1;
  bool single = false;
  std::string output = "/tmp/dispatch_bench.h5";
  po::options_description options("dispatch_bench");
  options.add_options()("runs", po::value(&runs)->default_value(runs), "training runs in the sweep")(
      "run-us", po::value(&run_us)->default_value(run_us), "microseconds each run takes")(
      "shifts", po::value(&shifts)->default_value(shifts), "rows per run (test shifts)")(
      "one-run-per-message", po::bool_switch(&single), "no batches (the design before batching)")(
      "output", po::value(&output)->default_value(output), "the scratch results file (removed at the end)");
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, options), vm);
  po::notify(vm);

  std::string shift_list = "none";
  for (long s = 1; s < shifts; ++s) shift_list += ", covariate_scale(" + std::to_string(1 + s) + ")";
  const std::string ini = "[sweep]\nname = dispatch_bench\nseed = 1\noutput = " + output +
                          "\n[grid]\nd = 2\nn_train = 4\ninit_seed = 0:" + std::to_string(runs - 1) +
                          ":1\n[eval]\nmc_prompts = 16\nshift = " + shift_list + "\n";
  const SweepConfig config = parse_config(ini, "dispatch_bench", {});
  const Grid grid(config);
  const TaskResult model = run_task(config, grid, 0, mpi.rank(), nullptr);  // one real run's rows and trajectory
  SchedulerOptions scheduling;
  scheduling.batching = !single;
  const RunFunction run = [&](std::uint64_t id, int rank, CancelCheck) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(run_us);
    TaskResult r = model;
    r.train_id = id;
    for (std::size_t j = 0; j < r.rows.size(); ++j) {
      r.rows[j].row = id * grid.conditions_per_run() + j;
      r.rows[j].train_id = id;
      r.rows[j].rank = rank;
      r.rows[j].seconds = static_cast<double>(run_us) * 1e-6 / static_cast<double>(r.rows.size());
    }
    while (std::chrono::steady_clock::now() < until) {
    }
    return r;
  };
  if (mpi.rank() != 0) {
    work(mpi.rank(), grid.conditions_per_run(), run);
    return 0;
  }
  std::filesystem::remove(output);
  const auto start = std::chrono::steady_clock::now();
  SweepOutcome outcome;
  {
    SweepStore store = SweepStore::create(output, identity_of(config), grid, config.flow.trajectory_points, mpi.size());
    outcome = lead_sweep(config, grid, mpi.size(), 0.0, "", scheduling, run, store);
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::filesystem::remove(output);
  const CoordinatorLoad& load = outcome.load;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);  // rank 0's peak resident memory, KiB
  const double rows = static_cast<double>(load.rows);
  std::printf("dispatch ranks=%d runs=%ld run_us=%ld rows_per_run=%llu wall_s=%.3f rows_per_s=%.0f "
              "rank0_cpu_s=%.3f rank0_us_per_row=%.2f messages=%llu runs_per_message=%.1f efficiency=%.3f batching=%d rank0_peak_mib=%.1f\n",
              mpi.size(), runs, run_us, static_cast<unsigned long long>(grid.conditions_per_run()), wall, rows / wall,
              load.cpu_seconds, 1e6 * load.cpu_seconds / rows, static_cast<unsigned long long>(load.messages),
              static_cast<double>(runs) / static_cast<double>(std::max<std::uint64_t>(load.messages, 1)),
              static_cast<double>(runs) * static_cast<double>(run_us) * 1e-6 / (wall * mpi.size()), single ? 0 : 1, static_cast<double>(usage.ru_maxrss) / 1024.0);
  return outcome.end == SweepEnd::complete ? 0 : 1;
}
