// The sweep command on every rank: its config read by rank 0 and shared, the start's policy
// (fresh, resumed, extended, already complete, refused), rank 0's lead and the others' work, and
// the two points where all ranks agree (whether to start; how it ended).
#include "sweep_command.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>

#include "config/grid_axes.hpp"
#include "config/sweep_identity.hpp"
#include "lead_sweep.hpp"
#include "models_library.hpp"
#include "schedule/stop_signals.hpp"
#include "store/extend.hpp"
#include "store/run_checkpoint.hpp"
#include "task/run_task.hpp"

namespace icl {
namespace {

constexpr int kProceed = -1;  // rank 0's word to the others: go on
constexpr int kExitStoppedUnanswered = -2;  // stopped, and some rank never answered: abort

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

// Seconds to about 3 significant digits, never in exponent form: 0.012, 3.46, 12.5, 3540.
std::string seconds_text(double s) {
  char text[64];
  std::snprintf(text, sizeof text, s < 1 ? "%.3f" : s < 10 ? "%.2f" : s < 100 ? "%.1f" : "%.0f", s);
  return text;
}

void print_dry_run(const SweepConfig& config, const Grid& grid, int ranks) {
  const double cost = grid.total_cost_estimate();
  std::printf("config: %s\noutput: %s\n", config.source.c_str(), config.output.c_str());
  // "3 d x 2 n_train x ...": the axes of one kind, in kGridAxes' order.
  const auto product = [&](AxisKind kind) {
    std::string text;
    for (const GridAxis& axis : kGridAxes)
      if (axis.kind == kind)
        text += (text.empty() ? "" : " x ") + std::to_string(axis.size(config)) + " " + std::string(axis.counted);
    return text;
  };
  std::printf("grid: %s = %llu training runs\n", product(AxisKind::run).c_str(),
              static_cast<unsigned long long>(grid.runs()));
  std::printf("conditions per run: %s = %llu\n", product(AxisKind::condition).c_str(),
              static_cast<unsigned long long>(grid.conditions_per_run()));
  std::printf("rows: %llu\n", static_cast<unsigned long long>(grid.rows()));
  const double longest = grid.longest_run_estimate();
  std::printf("estimated cost: %s core-seconds, about %s s on %d ranks (the longest run alone: %s s)\n",
              seconds_text(cost).c_str(), seconds_text(std::max(cost / ranks, longest)).c_str(), ranks,
              seconds_text(longest).c_str());
  for (const ModelSpec& model : config.model)
    std::printf("  %s: %s core-seconds\n", model.text.c_str(), seconds_text(grid.total_cost_estimate(&model)).c_str());
  if (parse_device(config.train.device).cuda)
    std::printf("train.device = %s: the sampled models' estimates are a CPU core's; on a GPU their seconds come from "
                "the rate measured on the GPU runs as the sweep goes (README, \"GPUs\")\n", config.train.device.c_str());
  if (config.mc.prompts == 0) return;
  if (config.mc.target_rel_se <= 0.0) {
    std::printf("Monte-Carlo: exactly %d prompts a condition (eval.target_rel_se = 0)\n", config.mc.prompts);
    return;
  }
  std::printf("Monte-Carlo: to a relative standard error of %g%% (eval.target_rel_se) on %s, at most %d prompts a "
              "condition; the estimate expects %.0f a condition on average\n",
              100.0 * config.mc.target_rel_se, predictor_names(&config.mc.target_waits).c_str(),
              config.mc.prompts, grid.expected_prompts_mean());
}

}  // namespace

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
    // A fresh start clears the checkpoint directory of earlier training states: it must hold
    // nothing icl-sweep did not write, or --force, which removes its own files there alone.
    if (const auto strays = RunCheckpoints::strays(config.output); !strays.empty()) {
      const std::string what = strays.front() + (strays.size() > 1 ? " and " + std::to_string(strays.size() - 1) + " more" : "");
      if (!cl.force)
        return refuse(RunCheckpoints::directory(config.output) + " holds what icl-sweep did not write (" + what +
                      "); move it away, or give --force, which removes only icl-sweep's own checkpoints there");
      std::fprintf(stderr, "icl-sweep: --force: %s is kept (icl-sweep did not write it); checkpoints that it is in "
                   "the way of are not written\n", what.c_str());
    }
    try {
      store.emplace(SweepStore::create(config.output, requested, grid, config.flow.trajectory_points, ranks));
    } catch (const StoreRefusal& e) {
      return refuse(e.what());
    } catch (const StoreFailure& e) {
      std::fprintf(stderr, "icl-sweep: cannot start %s: %s; nothing written\n", config.output.c_str(), e.what());
      return kExitFailure;
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

namespace {

// What this rank trains its sampled models on (train.device), found and checked here before
// anything is written.
struct RankDevice {
  std::string device = "cpu";  // cpu, or cuda:k
  std::string said;            // for rank 0: "rank 3 on h (node-local rank 1): cuda:1", or why it has none; empty on the CPU
  std::string gpu;             // the GPU's name; empty where the rank has none
};

RankDevice rank_training_device(const SweepConfig& config, const MpiSession& mpi) {
  RankDevice out;
  const DeviceRequest request = parse_device(config.train.device);
  const bool sampled = std::any_of(config.model.begin(), config.model.end(), [](const ModelSpec& m) { return m.sampled(); });
  if (!request.cuda || !sampled) return out;
  char host[256] = "?";
  ::gethostname(host, sizeof host - 1);
  const std::string where = "rank " + std::to_string(mpi.rank()) + " on " + host + " (node-local rank " +
                            std::to_string(mpi.local_rank()) + ")";
  try {
    const ModelsApi& models = models_library();
    out.device = rank_device(request, mpi.local_rank(), models.cuda_devices());
    std::string why;
    if (!models.device_available(out.device, why)) {
      out.said = where + ": " + why;
      return out;
    }
    out.said = where + ": " + out.device;
    out.gpu = models.device_name(out.device);
  } catch (const std::exception& e) {
    out.said = where + ": " + e.what();
  }
  return out;
}

// Rank 0, from every rank's line and GPU: exit 2 (the config's file, key and value, and the first
// rank without its device) when one has none, else the start-up lines and `summary`, what the
// progress line says ("4 rank(s) on cuda: NVIDIA H100 80GB HBM3, fp32").
int check_devices(const SweepConfig& config, const std::vector<std::string>& said, const std::vector<std::string>& gpus,
                  std::string& summary) {
  if (said.empty() || said.front().empty()) return kProceed;  // the CPU: every rank alike
  std::vector<std::string> refused, names;
  for (std::size_t r = 0; r < said.size(); ++r) {
    if (gpus[r].empty())
      refused.push_back(said[r]);
    else if (std::find(names.begin(), names.end(), gpus[r]) == names.end())
      names.push_back(gpus[r]);
  }
  if (!refused.empty()) {
    std::string why = refused.front();
    if (refused.size() > 1) why += "; and " + std::to_string(refused.size() - 1) + " more rank(s) alike";
    std::fprintf(stderr, "icl-sweep: %s; nothing written\n",
                 ConfigError(config.source, "train", "device", config.train.device, why).what());
    return kExitBadInput;
  }
  std::string joined;
  for (const std::string& name : names) joined += (joined.empty() ? "" : ", ") + name;
  summary = std::to_string(said.size()) + " rank(s) on cuda: " + joined + ", " +
            std::string(to_string(config.train.precision));
  std::fprintf(stderr, "icl-sweep: sampled models train on %s\n", summary.c_str());
  for (std::size_t r = 0; r < said.size() && r < 16; ++r)
    std::fprintf(stderr, "icl-sweep:   %s (%s)\n", said[r].c_str(), gpus[r].c_str());
  if (said.size() > 16) std::fprintf(stderr, "icl-sweep:   and %zu more ranks\n", said.size() - 16);
  return kProceed;
}

// Rank 0 after a successful start: leads the sweep; returns the exit status.
int lead(const SweepConfig& config, const Grid& grid, int ranks, double progress_seconds, const std::string& devices,
         const SchedulerOptions& scheduling, const RunFunction& run, SweepStore& store,
         const std::function<void(TaskResult&)>& complete) {
  const SweepOutcome outcome =
      lead_sweep(config, grid, ranks, progress_seconds, devices, scheduling, run, store, complete);
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

// Every rank: the two points where they agree (whether to start; how it ended) are here.
int run_sweep(const SweepConfig& config, const Grid& grid, const MpiSession& mpi, const CommandLine& cl) {
  std::optional<SweepStore> store;
  std::optional<Extension> extension;
  // Each rank's device first: a rank that cannot train where the config says stops the sweep
  // before anything is written. `local`: the config as this rank's runs see it (its own device).
  const RankDevice mine = rank_training_device(config, mpi);
  SweepConfig local = config;
  local.train.device = mine.device;
  const std::vector<std::string> said = gather(mine.said), gpus = gather(mine.gpu);
  std::string devices;
  int start = mpi.rank() == 0 ? check_devices(config, said, gpus, devices) : kProceed;
  if (mpi.rank() == 0 && start == kProceed) {
    extension = plan_extension(config, grid, cl, start);
    if (start == kProceed) start = open_store(config, grid, cl, mpi.size(), store).value_or(kProceed);
  }
  start = agree(start);
  if (start != kProceed) return start;
  // Which conditions OLD holds, for every rank: run_task leaves them to rank 0.
  const std::string reused = share(extension ? std::string(extension->found().begin(), extension->found().end())
                                             : std::string());
  const auto conditions = grid.conditions_per_run();
  // Sampled models' training states, in files beside the output (every rank writes its own runs').
  // Bound to the sweep, not to how its output is spelt (--resume ./out.h5 continues out.h5's).
  SweepConfig unplaced = config;
  unplaced.output.clear();
  const RunCheckpoints checkpoints(config.output, identity_of(unplaced));
  const RunFunction run = [&](std::uint64_t id, int rank, CancelCheck cancelled) {
    return run_task(local, grid, id, rank, &checkpoints, cancelled,
                    reused.empty() ? nullptr : reinterpret_cast<const std::uint8_t*>(reused.data()) + id * conditions);
  };
  if (mpi.rank() != 0) {
    work(mpi.rank(), grid.conditions_per_run(), run);
    return agree(0);
  }
  std::function<void(TaskResult&)> complete;
  if (extension) {
    // Runs OLD holds whole are recorded at once; the others train and evaluate their new
    // conditions only, OLD's rows filled in as they arrive.
    // The others' models go to their checkpoints, where run_task finds them: nothing is trained again.
    std::uint64_t stored = 0;
    for (std::uint64_t id = 0; id < grid.runs(); ++id) {
      if (store->done(id)) continue;
      if (extension->whole(id)) {
        store->record(extension->take(id));
        continue;
      }
      const std::string model = extension->stored_model(id);
      if (model.empty()) continue;
      try {
        checkpoints.save_copy(id, model);
        ++stored;
      } catch (const std::exception& e) {
        std::fprintf(stderr, "icl-sweep: --extend: training run %llu is trained again: %s\n",
                     static_cast<unsigned long long>(id), e.what());
      }
    }
    store->checkpoint();
    std::fprintf(stderr,
                 "icl-sweep: --extend %s: %llu of %llu rows reused; %llu runs taken whole, %llu evaluated on their new "
                 "conditions from their stored models, %llu trained again for them, %llu new\n",
                 extension->sources().c_str(), static_cast<unsigned long long>(extension->reused_rows()),
                 static_cast<unsigned long long>(grid.rows()), static_cast<unsigned long long>(extension->whole_runs()),
                 static_cast<unsigned long long>(stored), static_cast<unsigned long long>(extension->partial_runs() - stored),
                 static_cast<unsigned long long>(grid.runs() - extension->whole_runs() - extension->partial_runs()));
    complete = [&](TaskResult& result) { extension->complete(result); };
  }
  SchedulerOptions scheduling;
  scheduling.stop_grace_seconds = cl.stop_grace;
  scheduling.deadline = cl.deadline;
  const int status = lead(config, grid, mpi.size(), cl.progress, devices, scheduling, run, *store, complete);
  if (status == kExitStoppedUnanswered) {
    // Some rank will never reach the final agreement (nor MPI_Finalize): end the job here. The
    // checkpoint is written and the store closed first; MPI_Abort's code is mpiexec's status.
    store.reset();
    end_job(kExitStopped);
  }
  return agree(status);
}

}  // namespace

int sweep_command(const CommandLine& cl, const MpiSession& mpi) {
  const bool root = mpi.rank() == 0;
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
}

}  // namespace icl
