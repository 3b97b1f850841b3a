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
#include "journal.hpp"
#include "mpi_session.hpp"
#include "progress.hpp"
#include "results_file.hpp"
#include "scheduler.hpp"
#include "stop_signals.hpp"
#include "sweep_config.hpp"

namespace po = boost::program_options;
using namespace icl;

namespace {

constexpr int kExitOk = 0, kExitFailure = 1, kExitBadInput = 2, kExitStopped = 3;
constexpr int kProceed = -1;  // rank 0's first word to the others: start working

struct CommandLine {
  std::string config;
  std::string output;
  bool force = false;
  bool resume = false;
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
      ("resume", po::bool_switch(&cl.resume), "continue an interrupted sweep (same config)")
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
    std::cout << "usage: icl-sweep --config FILE [--output FILE] [--resume | --force] [--dry-run] "
                 "[--progress SECONDS] [--SECTION.KEY VALUE ...]\n"
              << options << "\n";
    exit_now = true;
  } else if (vm.count("version")) {
    std::cout << "icl-sweep " << ICL_VERSION << " (" << ICL_GIT_COMMIT << ")\n";
    exit_now = true;
  } else if (cl.config.empty()) {
    throw po::error("--config FILE is required");
  } else if (cl.force && cl.resume) {
    throw po::error("--force and --resume exclude each other");
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

// Rank 0 decides, every rank learns the outcome, so that all exit with the same status.
// A waiting rank polls instead of spinning in MPI_Bcast: it may wait for a whole sweep's tail.
int agree(int status) {
  MPI_Request request;
  MPI_Ibcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD, &request);
  wait_for(request);
  return status;
}

// Rank 0's text reaches every rank: only rank 0 reads the config file, so that all ranks run
// exactly the same sweep even where the file differs, or is missing, on other nodes.
std::string share(std::string text) {
  auto size = static_cast<std::uint64_t>(text.size());
  MPI_Request request;
  MPI_Ibcast(&size, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD, &request);
  wait_for(request);
  text.resize(size);
  MPI_Ibcast(text.data(), static_cast<int>(size), MPI_CHAR, 0, MPI_COMM_WORLD, &request);
  wait_for(request);
  return text;
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

// Rank 0's side of a sweep: prepares the journal and the file (new, or rebuilt from the
// journal on --resume), coordinates, writes. Returns the exit status; kExitBadInput before
// anything is written.
int lead_sweep(const SweepConfig& config, const Grid& grid, const MpiSession& mpi, const CommandLine& cl) {
  const std::string journal_path = config.output + ".journal";
  const auto refuse = [&](const std::string& why) {
    std::fprintf(stderr, "icl-sweep: %s: [sweep] output = %s: %s\n", config.source.c_str(), config.output.c_str(),
                 why.c_str());
    return agree(kExitBadInput);
  };
  const std::string ini = config.to_ini();
  std::vector<TaskResult> recovered;
  std::optional<Journal> journal;
  if (cl.resume) {
    if (!std::filesystem::exists(journal_path)) {
      if (std::filesystem::exists(config.output)) {
        try {
          if (ResultsFile::open(config.output).read_attributes().completed == 1) {
            std::fprintf(stderr, "icl-sweep: %s is already complete\n", config.output.c_str());
            return agree(kExitOk);
          }
        } catch (const std::exception&) {
          // An unreadable file is not complete: refused below like any file without a journal.
        }
      }
      return refuse("nothing to resume: no journal " + journal_path);
    }
    std::string stored;
    try {
      journal.emplace(Journal::resume(journal_path, stored, recovered));
    } catch (const std::exception& e) {
      return refuse(e.what());
    }
    const auto differences = config_differences(stored, ini);
    if (!differences.empty()) {
      std::string why = "--resume with a different config:";
      for (const auto& d : differences) why += " " + d + ";";
      return refuse(why);
    }
  } else {
    if ((std::filesystem::exists(config.output) || std::filesystem::exists(journal_path)) && !cl.force)
      return refuse("the file exists; use --resume to continue it or --force to overwrite it");
    try {
      journal.emplace(Journal::create(journal_path, ini));
    } catch (const std::exception& e) {
      return refuse(std::string("cannot create the journal: ") + e.what());
    }
  }

  FileAttributes attributes;
  attributes.config = ini;
  attributes.tool_version = ICL_VERSION;
  attributes.git_commit = ICL_GIT_COMMIT;
  attributes.created_utc = attributes.updated_utc = utc_now();
  attributes.mpi_ranks = mpi.size();
  attributes.rows_total = grid.rows();
  std::optional<ResultsFile> file;
  std::vector<char> done(grid.runs(), 0);
  try {
    // The file is always rebuilt from the journal: a writer killed inside HDF5 can leave it
    // unreadable, while the journal's intact records are exactly the finished runs.
    file.emplace(ResultsFile::create(config.output, grid.rows(), grid.runs(), config.trajectory_points, attributes));
    for (const TaskResult& r : recovered) {
      if (r.train_id >= grid.runs() || done[r.train_id]) continue;
      file->write_rows(r.train_id * grid.conditions_per_run(), r.rows);
      file->write_trajectory(r.train_id, r.trajectory);
      done[r.train_id] = 1;
      attributes.rows_done += r.rows.size();
    }
  } catch (const std::exception& e) {
    file.reset();
    if (cl.resume) {  // the journal is intact, the file is not: a failure, not bad input
      std::fprintf(stderr, "icl-sweep: cannot rebuild %s from its journal: %s\n", config.output.c_str(), e.what());
      return agree(kExitFailure);
    }
    journal.reset();  // nothing of a refused fresh start may stay behind
    std::filesystem::remove(journal_path);
    std::filesystem::remove(config.output);
    return refuse(std::string("cannot write the file: ") + e.what());
  }
  agree(kProceed);
  recovered.clear();

  // Costliest first, so that no rank is left with a long run at the tail.
  std::vector<std::uint64_t> order;
  std::vector<double> cost(grid.runs());
  for (std::uint64_t id = 0; id < grid.runs(); ++id) {
    if (done[id]) continue;
    order.push_back(id);
    cost[id] = grid.cost_estimate(id);
  }
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return cost[a] > cost[b]; });

  Progress progress(grid.rows(), mpi.size(), cl.progress);
  auto last_checkpoint = std::chrono::steady_clock::now();
  const auto checkpoint = [&] {
    journal->sync();
    attributes.updated_utc = utc_now();
    file->write_attributes(attributes);
    file->flush();
    last_checkpoint = std::chrono::steady_clock::now();
  };
  SchedulerHooks hooks;
  hooks.on_result = [&](TaskResult&& result) {
    journal->append(result);  // first: the journal is what a crash leaves behind
    file->write_rows(result.train_id * grid.conditions_per_run(), result.rows);
    file->write_trajectory(result.train_id, result.trajectory);
    attributes.rows_done += result.rows.size();
  };
  hooks.on_tick = [&](int busy) {
    progress.tick(attributes.rows_done, busy);
    if (std::chrono::steady_clock::now() - last_checkpoint > std::chrono::seconds(10)) checkpoint();
  };
  const SweepEnd end = coordinate(config, grid, order, mpi.size(), hooks);
  attributes.completed = end == SweepEnd::complete ? 1 : 0;
  checkpoint();
  if (end == SweepEnd::stopped) {
    const int signal = stop_signal();
    const std::string by = signal == kStopFromAnotherRank ? "a stop on another rank or a failure"
                                                          : "signal " + std::to_string(signal);
    std::fprintf(stderr, "icl-sweep: stopped by %s after a checkpoint: %llu/%llu rows; continue with --resume\n",
                 by.c_str(), static_cast<unsigned long long>(attributes.rows_done),
                 static_cast<unsigned long long>(grid.rows()));
    return agree(kExitStopped);
  }
  file.reset();  // closed and complete before the journal goes
  journal.reset();
  std::filesystem::remove(journal_path);
  progress.finish(attributes.rows_done, config.output);
  return agree(kExitOk);
}

int run_sweep(const SweepConfig& config, const Grid& grid, const MpiSession& mpi, const CommandLine& cl) {
  if (mpi.rank() == 0) return lead_sweep(config, grid, mpi, cl);
  if (const int outcome = agree(kProceed); outcome != kProceed) return outcome;
  work(config, grid, mpi.rank());
  return agree(kExitOk);
}

}  // namespace

int main(int argc, char** argv) {
  // First of all: a stop that arrives while MPI starts or the config is read must not kill
  // the process (the default action); it stops the sweep at its first chance instead.
  install_stop_handlers();
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
    if (root) {
      try {
        config = load_config(cl.config, cl.overrides);
      } catch (const ConfigError& e) {
        std::fprintf(stderr, "icl-sweep: %s\n", e.what());
        return agree(kExitBadInput);
      }
    }
    if (const int outcome = agree(kProceed); outcome != kProceed) return outcome;
    const std::string ini = share(root ? config.to_ini() : std::string());
    if (!root) config = parse_config(ini, cl.config, {});
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
