// icl-sweep: one program for 1..K MPI ranks (SPEC.md "Command line").
#include <boost/program_options.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "grid.hpp"
#include "mpi_session.hpp"
#include "progress.hpp"
#include "results_file.hpp"
#include "scheduler.hpp"
#include "sweep_config.hpp"

namespace po = boost::program_options;
using namespace icl;

namespace {

constexpr int kExitOk = 0, kExitFailure = 1, kExitBadInput = 2;

struct CommandLine {
  std::string config;
  std::string output;
  bool force = false;
  bool dry_run = false;
  double progress = 10.0;
  std::vector<std::pair<std::string, std::string>> overrides;
};

CommandLine parse_command_line(int argc, char** argv, bool& exit_now) {
  CommandLine cl;
  po::options_description options("icl-sweep options");
  options.add_options()
      ("help,h", "print this help")
      ("version", "print the version")
      ("config", po::value(&cl.config), "the sweep definition (INI)")
      ("output", po::value(&cl.output), "the HDF5 results file (overrides sweep.output)")
      ("force", po::bool_switch(&cl.force), "overwrite an existing output file")
      ("dry-run", po::bool_switch(&cl.dry_run), "print the grid size and a cost estimate; write nothing")
      ("progress", po::value(&cl.progress)->default_value(10.0), "seconds between progress lines; 0 = off");
  po::options_description keys("config keys (override the file)");
  for (const auto& key : config_keys()) keys.add_options()(key.c_str(), po::value<std::string>(), "");
  options.add(keys);
  po::variables_map vm;
  po::store(po::command_line_parser(argc, argv).options(options).run(), vm);
  po::notify(vm);
  exit_now = false;
  if (vm.count("help")) {
    std::cout << "usage: icl-sweep --config FILE [--output FILE] [--force] [--dry-run] "
                 "[--progress SECONDS] [--SECTION.KEY VALUE ...]\n"
              << options << "\n";
    exit_now = true;
  } else if (vm.count("version")) {
    std::cout << "icl-sweep " << ICL_VERSION << " (" << ICL_GIT_COMMIT << ")\n";
    exit_now = true;
  } else if (cl.config.empty()) {
    throw po::error("--config FILE is required");
  }
  if (!(cl.progress >= 0.0)) throw po::error("--progress must be >= 0");
  for (const auto& key : config_keys())
    if (vm.count(key)) cl.overrides.emplace_back(key, vm[key].as<std::string>());
  return cl;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// rank 0 decides, every rank learns the outcome, so that all exit with the same status.
int agree(int status) {
  MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return status;
}

void print_dry_run(const SweepConfig& config, const Grid& grid, int ranks) {
  double cost = 0.0;
  for (std::uint64_t id = 0; id < grid.runs(); ++id) cost += grid.cost_estimate(id);
  std::printf("config: %s\noutput: %s\n", config.source.c_str(), config.output.c_str());
  std::printf("grid: %zu d x %zu n_train x %zu spectrum x %zu sigma x %zu init_seed = %llu training runs\n",
              config.d.size(), config.n_train.size(), config.spectrum.size(), config.sigma.size(),
              config.init_seed.size(), static_cast<unsigned long long>(grid.runs()));
  std::printf("conditions per run: %zu m_test x %zu shifts = %llu\n", config.m_test.size(),
              config.shift.size(), static_cast<unsigned long long>(grid.conditions_per_run()));
  std::printf("rows: %llu\n", static_cast<unsigned long long>(grid.rows()));
  std::printf("estimated cost: %.0f core-seconds, about %.0f s on %d ranks\n", cost, cost / ranks, ranks);
}

int run_sweep(const SweepConfig& config, const Grid& grid, MpiSession& mpi, const CommandLine& cl) {
  std::vector<std::uint64_t> order(grid.runs());
  std::iota(order.begin(), order.end(), 0);
  if (mpi.rank() != 0) {
    if (agree(0) != 0) return kExitBadInput;
    work(config, grid, mpi.rank());
    return kExitOk;
  }

  if (std::filesystem::exists(config.output) && !cl.force) {
    std::fprintf(stderr, "icl-sweep: %s: [sweep] output = %s: the file exists; use --force to overwrite it\n",
                 config.source.c_str(), config.output.c_str());
    return agree(kExitBadInput);
  }
  FileAttributes attributes;
  attributes.config = config.to_ini();
  attributes.tool_version = ICL_VERSION;
  attributes.git_commit = ICL_GIT_COMMIT;
  attributes.created_utc = attributes.updated_utc = utc_now();
  attributes.mpi_ranks = mpi.size();
  attributes.rows_total = grid.rows();
  std::optional<ResultsFile> file;
  try {
    file.emplace(ResultsFile::create(config.output, grid.rows(), grid.runs(), config.trajectory_points, attributes));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "icl-sweep: %s: [sweep] output = %s: cannot create the file: %s\n",
                 config.source.c_str(), config.output.c_str(), e.what());
    return agree(kExitBadInput);
  }
  agree(0);

  // Costliest first, so that no rank is left with a long run at the tail.
  std::vector<double> cost(grid.runs());
  for (std::uint64_t id = 0; id < grid.runs(); ++id) cost[id] = grid.cost_estimate(id);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return cost[a] > cost[b]; });

  Progress progress(grid.rows(), mpi.size(), cl.progress);
  auto last_flush = std::chrono::steady_clock::now();
  const auto checkpoint = [&] {
    attributes.updated_utc = utc_now();
    file->write_attributes(attributes);
    file->flush();
    last_flush = std::chrono::steady_clock::now();
  };
  SchedulerHooks hooks;
  hooks.on_result = [&](TaskResult&& result) {
    file->write_rows(result.train_id * grid.conditions_per_run(), result.rows);
    file->write_trajectory(result.train_id, result.trajectory);
    attributes.rows_done += result.rows.size();
  };
  hooks.on_tick = [&](int busy) {
    progress.tick(attributes.rows_done, busy);
    if (std::chrono::steady_clock::now() - last_flush > std::chrono::seconds(10)) checkpoint();
  };
  coordinate(config, grid, order, mpi.size(), hooks);
  attributes.completed = attributes.rows_done == grid.rows() ? 1 : 0;
  checkpoint();
  progress.finish(attributes.rows_done, config.output);
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  MpiSession mpi(argc, argv);
  const bool root = mpi.rank() == 0;
  try {
    bool exit_now = false;
    CommandLine cl;
    try {
      cl = parse_command_line(argc, argv, exit_now);
    } catch (const po::error& e) {
      if (root) std::fprintf(stderr, "icl-sweep: command line: %s\n", e.what());
      return kExitBadInput;
    }
    if (exit_now) return kExitOk;
    if (!cl.output.empty()) cl.overrides.emplace_back("sweep.output", cl.output);
    SweepConfig config;
    try {
      config = load_config(cl.config, cl.overrides);
    } catch (const ConfigError& e) {
      if (root) std::fprintf(stderr, "icl-sweep: %s\n", e.what());
      return kExitBadInput;
    }
    const Grid grid(config);
    if (cl.dry_run) {
      if (root) print_dry_run(config, grid, mpi.size());
      return kExitOk;
    }
    return run_sweep(config, grid, mpi, cl);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "icl-sweep: rank %d: %s\n", mpi.rank(), e.what());
    MPI_Abort(MPI_COMM_WORLD, kExitFailure);
    return kExitFailure;
  }
}
