// icl-sweep: one program for 1..K MPI ranks (docs/interface.md, "Command line").
#include <boost/program_options.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <cstdio>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "describe.hpp"
#include "extend.hpp"
#include "status.hpp"
#include "grid.hpp"
#include "lead_sweep.hpp"
#include "mpi_session.hpp"
#include "result_row.hpp"
#include "scheduler.hpp"
#include "stop_signals.hpp"
#include "sweep_config.hpp"
#include "sweep_store.hpp"
#include "version.hpp"

namespace po = boost::program_options;
using namespace icl;

namespace {

constexpr int kExitOk = 0, kExitFailure = 1, kExitBadInput = 2, kExitStopped = 3;
constexpr int kProceed = -1;  // rank 0's word to the others: go on
constexpr int kExitStoppedUnanswered = -2;  // stopped, and some rank never answered: abort

struct CommandLine {
  std::string config;
  std::string output;
  bool force = false;
  bool resume = false;
  bool resume_or_start = false;
  std::string extend;  // --extend OLD.h5
  std::vector<std::string> merge;  // --merge IN.h5 ...
  std::string status, snapshot;    // --status OUTPUT [--export SNAPSHOT]
  bool dry_run = false;
  double progress = 10.0;
  double stop_grace = 30.0;
  std::string stop_after, stop_at;  // as given
  std::optional<std::chrono::steady_clock::time_point> deadline;  // from either, fixed at the start
  Overrides overrides;
};

// What the program prints and exits on before any sweep: --help, --version, the tables.
std::optional<std::string> information(const po::variables_map& vm, const po::options_description& options) {
  if (vm.count("help")) {
    std::ostringstream text;
    text << "usage: icl-sweep --config FILE [--output FILE] [--force | --resume-or-start] [--dry-run] "
            "[--progress SECONDS] [--SECTION.KEY VALUE ...]\n"
            "       icl-sweep --resume OUTPUT [--config FILE] [--SECTION.KEY VALUE ...]\n"
            "       icl-sweep --config FILE --extend OLD.h5 [--output FILE] [--force] [--SECTION.KEY VALUE ...]\n"
            "       icl-sweep merge IN.h5 IN.h5 ... --output FILE [--force]    (or --merge)\n"
            "       icl-sweep status OUTPUT [--export SNAPSHOT.h5]            (or --status)\n"
            "Keys, columns, shifts, spectra and exit codes: docs/interface.md and docs/theory.md.\n\n"
         << options;
    return text.str();
  }
  if (vm.count("version")) return "icl-sweep " + tool_version() + " (" + git_commit() + ")\n";
  if (vm.count("describe-keys")) return describe_keys();
  if (vm.count("describe-columns")) return describe_columns();
  if (vm.count("list-shifts")) return list_shifts();
  if (vm.count("list-spectra")) return list_spectra();
  if (vm.count("list-models")) return list_models();
  if (vm.count("schema-version")) return std::to_string(kSchemaVersion) + "\n";
  return std::nullopt;
}

// Seconds from now to the deadline of --stop-after or --stop-at; nullopt without one. Throws
// po::error on a value that is not a duration or a time.
std::optional<double> seconds_to_deadline(const CommandLine& cl) {
  if (!cl.stop_after.empty()) {
    const std::string& v = cl.stop_after;
    double seconds = -1.0;
    int h = 0, m = 0, s = 0;
    char tail = 0;
    if (std::sscanf(v.c_str(), "%d:%d:%d%c", &h, &m, &s, &tail) == 3 && h >= 0 && m >= 0 && m < 60 && s >= 0 && s < 60) {
      seconds = 3600.0 * h + 60.0 * m + s;
    } else {
      std::size_t used = 0;
      double number = -1.0;
      try {
        number = std::stod(v, &used);
      } catch (const std::exception&) {
      }
      const std::string unit = v.substr(used);
      const double scale = unit.empty() || unit == "s" ? 1.0 : unit == "m" ? 60.0 : unit == "h" ? 3600.0 : unit == "d" ? 86400.0 : -1.0;
      if (used > 0 && scale > 0.0 && number >= 0.0) seconds = number * scale;
    }
    if (!(seconds >= 0.0) || !std::isfinite(seconds))
      throw po::error("--stop-after " + v + ": not a duration (3600, 90m, 12h, 1.5d or H:MM:SS)");
    return seconds;
  }
  if (!cl.stop_at.empty()) {
    const std::string& v = cl.stop_at;
    std::time_t target = -1;
    if (v.size() > 1 && v[0] == '@') {
      char* end = nullptr;
      const long long epoch = std::strtoll(v.c_str() + 1, &end, 10);
      if (end != nullptr && *end == '\0') target = static_cast<std::time_t>(epoch);
    } else {
      std::tm tm{};
      tm.tm_isdst = -1;
      const char* end = ::strptime(v.c_str(), "%Y-%m-%dT%H:%M", &tm);
      if (end != nullptr && *end == ':') end = ::strptime(end, ":%S", &tm);
      if (end != nullptr && *end == '\0') target = std::mktime(&tm);
    }
    if (target == -1)
      throw po::error("--stop-at " + v + ": not a time (YYYY-MM-DDTHH:MM[:SS], local, or @EPOCH)");
    return std::difftime(target, std::time(nullptr));
  }
  return std::nullopt;
}

CommandLine parse_command_line(int argc, char** argv, std::optional<std::string>& info) {
  CommandLine cl;
  po::options_description options("icl-sweep options");
  options.add_options()
      ("help,h", "print this help")
      ("version", "print the version")
      ("config", po::value(&cl.config), "the sweep definition (INI); with --resume, taken from the output if omitted")
      ("output", po::value(&cl.output), "the HDF5 results file (overrides sweep.output); also the first argument")
      ("force", po::bool_switch(&cl.force), "overwrite an existing output file")
      ("resume", po::bool_switch(&cl.resume), "continue an interrupted sweep (same config, inputs and program)")
      ("resume-or-start", po::bool_switch(&cl.resume_or_start),
       "continue the sweep if OUTPUT or its journal exists (as --resume), else start it: one command for both")
      ("extend", po::value(&cl.extend)->value_name("OLD.h5"),
       "start a sweep whose grid holds OLD's and more: OLD's rows are reused, only the new ones computed")
      ("merge", po::value(&cl.merge)->multitoken()->value_name("IN.h5 ..."),
       "one file from finished sweeps' files (an array job's, extensions'): their grids' union, rows that "
       "several hold checked equal; rows none holds are left to --resume")
      ("status", po::value(&cl.status)->value_name("OUTPUT"),
       "what a sweep has done (rows, statuses, rate, ETA, each rank's last report), read from its journal "
       "without disturbing it")
      ("export", po::value(&cl.snapshot)->value_name("SNAPSHOT.h5"),
       "with --status: also write the rows done so far to this new, readable results file")
      ("dry-run", po::bool_switch(&cl.dry_run), "print the grid size and a cost estimate; write nothing")
      ("progress", po::value(&cl.progress)->default_value(cl.progress), "seconds between progress lines; 0 = off")
      ("stop-after", po::value(&cl.stop_after)->value_name("DURATION"),
       "stop cleanly (checkpoint, exit 3) before this much wall time has passed: 3600, 90m, 12h, 1.5d or H:MM:SS")
      ("stop-at", po::value(&cl.stop_at)->value_name("TIME"),
       "stop cleanly (checkpoint, exit 3) before this local time: YYYY-MM-DDTHH:MM[:SS] (as Slurm prints it) or @EPOCH")
      ("stop-grace", po::value(&cl.stop_grace)->default_value(cl.stop_grace),
       "seconds rank 0 waits, after a stop, for ranks to abandon their runs before it exits without them")
      ("describe-keys", "print the config keys as a Markdown table")
      ("describe-columns", "print the result columns as a Markdown table")
      ("list-shifts", "print every shift, one line each")
      ("list-spectra", "print every covariance model, one line each")
      ("list-models", "print every model, one line each")
      ("schema-version", "print the results file's schema version");
  po::options_description keys("config keys (each overrides the file; the default in brackets)");
  std::vector<std::string> descriptions;
  for (const ConfigKey& key : config_key_table()) descriptions.push_back(key.meaning + " [" + key.default_text + "]");
  for (std::size_t i = 0; i < config_keys().size(); ++i)
    keys.add_options()(config_keys()[i].c_str(), po::value<std::string>()->value_name("V"), descriptions[i].c_str());
  options.add(keys);
  po::positional_options_description positional;
  positional.add("output", 1);
  // `icl-sweep status OUT` and `icl-sweep merge IN... --output OUT` are --status and --merge: a
  // first word that names a command and not a file.
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && (args[0] == "status" || args[0] == "merge")) args[0] = "--" + args[0];
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(options).positional(positional).run(), vm);
  po::notify(vm);
  info = information(vm, options);
  if (info) return cl;
  if (!cl.snapshot.empty() && cl.status.empty()) throw po::error("--export goes with --status OUTPUT");
  if (!cl.status.empty()) {
    if (!cl.merge.empty() || !cl.config.empty() || cl.resume || cl.resume_or_start || !cl.extend.empty() || cl.dry_run)
      throw po::error("--status takes the output (and --export) alone");
    return cl;
  }
  if (!cl.merge.empty()) {
    bool key_given = false;
    for (const auto& key : config_keys()) key_given = key_given || vm.count(key) > 0;
    if (!cl.config.empty() || cl.resume || cl.resume_or_start || !cl.extend.empty() || cl.dry_run || key_given)
      throw po::error("--merge takes the inputs, --output and --force alone (the inputs' configs decide the rest)");
    if (cl.output.empty()) throw po::error("--merge needs --output FILE");
    return cl;
  }
  if (cl.config.empty() && !cl.resume) throw po::error("--config FILE is required (or --resume OUTPUT)");
  if (cl.config.empty() && cl.output.empty()) throw po::error("--resume without --config needs the OUTPUT file");
  if (cl.force + cl.resume + cl.resume_or_start > 1)
    throw po::error("--force, --resume and --resume-or-start exclude each other");
  if (cl.resume_or_start && cl.config.empty()) throw po::error("--resume-or-start needs --config FILE (to start)");
  if (!cl.extend.empty() && (cl.resume || cl.resume_or_start))
    throw po::error("--extend starts a new sweep: not with --resume or --resume-or-start (a stopped extension "
                    "resumes with --resume alone)");
  if (!cl.extend.empty() && cl.config.empty()) throw po::error("--extend needs --config FILE (the larger grid)");
  if (!(cl.progress >= 0.0)) throw po::error("--progress must be >= 0");
  if (!(cl.stop_grace >= 0.0)) throw po::error("--stop-grace must be >= 0");
  if (!cl.stop_after.empty() && !cl.stop_at.empty()) throw po::error("--stop-after and --stop-at exclude each other");
  const auto seconds = seconds_to_deadline(cl);
  if (seconds)
    cl.deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(*seconds));
  if (seconds && *seconds <= static_cast<double>(kDeadlineLead.count()))
    throw po::error("the deadline (--stop-after/--stop-at) is " + std::to_string(static_cast<long long>(*seconds)) +
                    " s away: less than the " + std::to_string(kDeadlineLead.count()) + " s a clean stop needs");
  for (const auto& key : config_keys())
    if (vm.count(key)) cl.overrides.emplace_back(key, vm[key].as<std::string>());
  if (!cl.output.empty()) cl.overrides.emplace_back("sweep.output", cl.output);
  return cl;
}

// Rank 0 decides, every rank learns the outcome, so that all exit with the same status.
// A waiting rank polls instead of spinning in MPI_Bcast: it may wait for a whole sweep's tail.
int agree(int status) {
  if (!mpi_running()) return status;  // one process
  MPI_Request request;
  MPI_Ibcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD, &request);
  wait_for(request);
  return status;
}

// Rank 0's text reaches every rank: only rank 0 reads the config and its input files, so that
// all ranks run exactly the same sweep even where the files differ, or are missing, elsewhere.
std::string share(std::string text) {
  if (!mpi_running()) return text;  // one process
  auto size = static_cast<std::uint64_t>(text.size());
  MPI_Request request;
  MPI_Ibcast(&size, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD, &request);
  wait_for(request);
  text.resize(size);
  MPI_Ibcast(text.data(), static_cast<int>(size), MPI_CHAR, 0, MPI_COMM_WORLD, &request);
  wait_for(request);
  return text;
}

// Rank 0's effective config and input files, on every rank.
SweepConfig share_config(const SweepConfig& config, bool root, const std::string& label) {
  const std::string ini = share(root ? config.to_ini() : std::string());
  const auto count = static_cast<std::size_t>(std::stoull(share(root ? std::to_string(config.inputs.size()) : "")));
  InputFiles inputs;
  auto it = config.inputs.begin();
  for (std::size_t i = 0; i < count; ++i) {
    std::string path = share(root ? it->first : std::string());
    inputs[path] = share(root ? it->second : std::string());
    if (root) ++it;
  }
  return root ? config : parse_config(ini, label, {}, &inputs);
}

// The config of a `--resume OUTPUT` without --config: the one stored with the output.
std::string stored_config(const std::string& output) {
  const ExistingOutput existing = inspect_output(output);
  if (!existing.identity)
    throw ConfigError(output, "sweep", "output", output,
                      existing.kind == ExistingOutput::Kind::nothing
                          ? "nothing to resume: neither the file nor " + output + ".journal exists"
                          : "cannot take the config from it: " + existing.why);
  return existing.identity->config;
}

void print_dry_run(const SweepConfig& config, const Grid& grid, int ranks) {
  const double cost = grid.total_cost_estimate();
  std::printf("config: %s\noutput: %s\n", config.source.c_str(), config.output.c_str());
  std::printf("grid: %zu d x %zu n_train x %zu spectrum x %zu sigma x %zu init_seed x %zu model x %zu lr x %zu steps"
              " = %llu training runs\n",
              config.d.size(), config.n_train.size(), config.spectrum.size(), config.sigma.size(),
              config.init_seed.size(), config.model.size(), config.lr.size(), config.steps.size(),
              static_cast<unsigned long long>(grid.runs()));
  std::printf("conditions per run: %zu m_test x %zu shifts x %zu ridge_lambda = %llu\n", config.m_test.size(),
              config.shift.size(), config.ridge_lambda.size(), static_cast<unsigned long long>(grid.conditions_per_run()));
  std::printf("rows: %llu\n", static_cast<unsigned long long>(grid.rows()));
  const double longest = grid.longest_run_estimate();
  std::printf("estimated cost: %.0f core-seconds, about %.0f s on %d ranks (the longest run alone: %.0f s)\n", cost,
              std::max(cost / ranks, longest), ranks, longest);
  for (const ModelSpec& model : config.model)
    std::printf("  %s: %.0f core-seconds\n", model.text.c_str(), grid.total_cost_estimate(&model));
}

// The policy of a start: fresh, resumed, already complete, or refused. Returns the exit status
// when the sweep must not run (nothing written on a refusal), nullopt with `store` open when it
// must.
std::optional<int> open_store(const SweepConfig& config, const Grid& grid, const CommandLine& cl, int ranks,
                              std::optional<SweepStore>& store) {
  const auto refuse = [&](const std::string& why) {
    std::fprintf(stderr, "icl-sweep: %s: [sweep] output = %s: %s\n", config.source.c_str(), config.output.c_str(),
                 why.c_str());
    return kExitBadInput;
  };
  if (const std::string problem = output_path_problem(config.output); !problem.empty()) return refuse(problem);
  const SweepIdentity requested = identity_of(config);
  const ExistingOutput existing = inspect_output(config.output);
  using Kind = ExistingOutput::Kind;
  if (!cl.resume && !(cl.resume_or_start && existing.kind != Kind::nothing)) {
    if (existing.kind != Kind::nothing && !cl.force)
      return refuse("the file exists; use --resume to continue it or --force to overwrite it");
    try {
      store.emplace(SweepStore::create(config.output, requested, grid, config.flow.trajectory_points, ranks));
    } catch (const StoreRefusal& e) {
      return refuse(e.what());
    }
    return std::nullopt;
  }
  if (existing.kind == Kind::nothing) return refuse("nothing to resume: no journal " + config.output + ".journal");
  if (existing.kind == Kind::foreign) return refuse("cannot resume: " + existing.why);
  const auto differences = identity_differences(*existing.identity, requested);
  if (!differences.empty()) {
    std::string why = "--resume with a different sweep:";
    for (const auto& d : differences) why += " " + d + ";";
    return refuse(why);
  }
  if (existing.kind == Kind::complete) {
    std::fprintf(stderr, "icl-sweep: %s is already complete\n", config.output.c_str());
    return kExitOk;
  }
  try {
    std::vector<std::string> notes;
    store.emplace(SweepStore::resume(config.output, requested, grid, config.flow.trajectory_points, ranks, notes));
    for (const std::string& note : notes) std::fprintf(stderr, "icl-sweep: %s\n", note.c_str());
  } catch (const JournalLocked& e) {
    return refuse(e.what());
  } catch (const std::exception& e) {
    // The journal is intact but cannot be taken up (locked, unreadable, unwritable file).
    std::fprintf(stderr, "icl-sweep: cannot resume %s: %s\n", config.output.c_str(), e.what());
    return kExitFailure;
  }
  return std::nullopt;
}

// Rank 0 after a successful start: leads the sweep; returns the exit status.
int lead(const SweepConfig& config, const Grid& grid, int ranks, double progress_seconds,
         const SchedulerOptions& scheduling, SweepStore& store, const std::function<void(TaskResult&)>& complete) {
  const SweepOutcome outcome = lead_sweep(config, grid, ranks, progress_seconds, scheduling, store, complete);
  if (outcome.end != SweepEnd::complete) {
    const int signal = stop_signal();
    const std::string by = signal == kStopFromAnotherRank ? "a stop on another rank or a failure"
                           : signal == kStopAtDeadline || signal == 0
                               ? "the deadline (--stop-after/--stop-at, less " + std::to_string(kDeadlineLead.count()) + " s for the stop)"
                               : "signal " + std::to_string(signal);
    std::fprintf(stderr, "icl-sweep: stopped by %s after a checkpoint: %llu/%llu rows; continue with --resume\n",
                 by.c_str(), static_cast<unsigned long long>(store.rows_done()),
                 static_cast<unsigned long long>(grid.rows()));
    if (outcome.end == SweepEnd::abandoned) {
      std::string ranks_text;
      for (const int r : outcome.unanswered) ranks_text += (ranks_text.empty() ? "" : ", ") + std::to_string(r);
      std::fprintf(stderr, "icl-sweep: rank(s) %s did not answer the stop within %g s (--stop-grace); not waiting "
                   "for them: their runs are computed again on resume\n", ranks_text.c_str(), scheduling.stop_grace_seconds);
      return kExitStoppedUnanswered;
    }
    return kExitStopped;
  }
  return kExitOk;
}

// --extend: rank 0 checks OLD and maps its rows before anything is written; refused: exit 2.
std::optional<Extension> plan_extension(const SweepConfig& config, const Grid& grid, const CommandLine& cl,
                                        int& status) {
  if (cl.extend.empty()) return std::nullopt;
  try {
    return Extension::plan(cl.extend, config, grid);
  } catch (const ExtendRefusal& e) {
    std::fprintf(stderr, "icl-sweep: --extend %s\n", e.what());
    status = kExitBadInput;
    return std::nullopt;
  }
}

// --merge, on rank 0 (the others only agree): the union of the inputs' grids, every row an input
// holds copied; complete when they hold every run whole, else stopped and resumable.
int merge_files(const CommandLine& cl) {
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

// Every rank: the two points where they agree (whether to start; how it ended) are here.
int run_sweep(const SweepConfig& config, const Grid& grid, const MpiSession& mpi, const CommandLine& cl) {
  std::optional<SweepStore> store;
  std::optional<Extension> extension;
  int start = kProceed;
  if (mpi.rank() == 0) {
    extension = plan_extension(config, grid, cl, start);
    if (start == kProceed) start = open_store(config, grid, cl, mpi.size(), store).value_or(kProceed);
  }
  start = agree(start);
  if (start != kProceed) return start;
  // Which conditions OLD holds, for every rank: run_task leaves them to rank 0.
  const std::string reused = share(extension ? std::string(extension->found().begin(), extension->found().end())
                                             : std::string());
  const auto conditions = grid.conditions_per_run();
  const RunFunction run = [&](std::uint64_t id, int rank, CancelCheck cancelled) {
    return run_task(config, grid, id, rank, cancelled,
                    reused.empty() ? nullptr : reinterpret_cast<const std::uint8_t*>(reused.data()) + id * conditions);
  };
  if (mpi.rank() != 0) {
    work(config, grid, mpi.rank(), run);
    return agree(0);
  }
  std::function<void(TaskResult&)> complete;
  if (extension) {
    // Runs OLD holds whole are recorded at once; the others train and evaluate their new
    // conditions only, OLD's rows filled in as they arrive.
    for (std::uint64_t id = 0; id < grid.runs(); ++id)
      if (extension->whole(id) && !store->done(id)) store->record(extension->take(id));
    store->checkpoint();
    std::fprintf(stderr,
                 "icl-sweep: --extend %s: %llu of %llu rows reused; %llu runs taken whole, %llu trained again for "
                 "their new conditions, %llu new\n",
                 extension->sources().c_str(), static_cast<unsigned long long>(extension->reused_rows()),
                 static_cast<unsigned long long>(grid.rows()), static_cast<unsigned long long>(extension->whole_runs()),
                 static_cast<unsigned long long>(extension->partial_runs()),
                 static_cast<unsigned long long>(grid.runs() - extension->whole_runs() - extension->partial_runs()));
    complete = [&](TaskResult& result) { extension->complete(result); };
  }
  SchedulerOptions scheduling;
  scheduling.stop_grace_seconds = cl.stop_grace;
  scheduling.deadline = cl.deadline;
  scheduling.run = run;
  const int status = lead(config, grid, mpi.size(), cl.progress, scheduling, *store, complete);
  if (status == kExitStoppedUnanswered) {
    // Some rank will never reach the final agreement (nor MPI_Finalize): end the job here. The
    // checkpoint is written and the store closed first; MPI_Abort's code is mpiexec's status.
    store.reset();
    end_job(kExitStopped);
  }
  return agree(status);
}

}  // namespace

int main(int argc, char** argv) {
  // First of all: a stop that arrives while MPI starts or the config is read must not kill
  // the process (the default action); it stops the sweep at its first chance instead.
  install_stop_handlers();
  MpiSession mpi(argc, argv);
  const bool root = mpi.rank() == 0;
  try {
    std::optional<std::string> info;
    CommandLine cl;
    try {
      cl = parse_command_line(argc, argv, info);
    } catch (const po::error& e) {
      if (root) std::fprintf(stderr, "icl-sweep: command line: %s\n", e.what());
      return kExitBadInput;
    }
    if (info) {
      if (root) std::fputs(info->c_str(), stdout);
      return kExitOk;
    }
    if (!cl.status.empty()) return agree(root ? print_status(cl.status, cl.snapshot) : 0);
    if (!cl.merge.empty()) return agree(root ? merge_files(cl) : 0);
    SweepConfig config;
    if (root) {
      try {
        config = cl.config.empty() ? parse_config(stored_config(cl.output), cl.output + " (stored config)", cl.overrides)
                                   : load_config(cl.config, cl.overrides);
      } catch (const ConfigError& e) {
        std::fprintf(stderr, "icl-sweep: %s\n", e.what());
        return agree(kExitBadInput);
      }
    }
    if (root && stop_requested()) {
      // A stop during the validation (Ctrl-C on a big grid): nothing was written.
      std::fprintf(stderr, "icl-sweep: stopped by signal %d before the sweep started; nothing written\n", stop_signal());
      return agree(kExitStopped);
    }
    if (const int outcome = agree(kProceed); outcome != kProceed) return outcome;
    config = share_config(config, root, cl.config);
    const Grid grid(config);
    if (cl.dry_run) {
      if (root) print_dry_run(config, grid, mpi.size());
      return kExitOk;
    }
    return run_sweep(config, grid, mpi, cl);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "icl-sweep: rank %d: %s\n", mpi.rank(), e.what());
    end_job(kExitFailure);
  }
}
