#include "extend.hpp"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <unordered_map>

#include "result_row.hpp"
#include "sweep_identity.hpp"

namespace icl {
namespace {

constexpr std::uint64_t kAbsent = std::numeric_limits<std::uint64_t>::max();

std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", v);
  return text;
}

// A run's and a condition's grid values as text: equal texts, equal keys, equal rows.
std::string run_text(const TrainingRun& r) {
  return "d = " + std::to_string(r.d) + ", n_train = " + std::to_string(r.n_train) + ", spectrum = " + r.spectrum +
         ", sigma = " + number(r.sigma) + ", init_seed = " + std::to_string(r.init_seed) + ", model = " + r.model.text +
         ", lr = " + number(r.lr) + ", steps = " + std::to_string(r.steps);
}
std::string condition_text(const Condition& c) { return "m_test = " + std::to_string(c.m) + ", shift = " + c.shift.text; }

// What may differ between OLD and the new sweep: the grid's lists (the config's list keys) and
// the name; a file the new grid reads that OLD did not.
bool may_differ(const std::string& difference) {
  const std::string key = difference.substr(0, difference.find(": stored '"));
  if (key == "sweep.name") return true;
  for (const ConfigKey& k : config_key_table())
    if (k.list && k.name == key) return true;
  return key.rfind("input ", 0) == 0 && difference.find(": stored '(none)'") != std::string::npos;
}

}  // namespace

Extension::Extension(std::string source, ResultsFile old, std::uint64_t old_conditions, std::uint64_t conditions)
    : source_(std::move(source)), old_(std::move(old)), old_conditions_(old_conditions), conditions_(conditions) {}

Extension Extension::plan(const std::string& old_path, const SweepConfig& config, const Grid& grid) {
  namespace fs = std::filesystem;
  const auto refuse = [&](const std::string& why) { throw ExtendRefusal("--extend " + old_path + ": " + why); };
  std::error_code ec;
  if (!fs::is_regular_file(old_path, ec)) refuse("no such file");
  if (fs::equivalent(old_path, config.output, ec))
    refuse("it is the output itself; --extend writes a new file and keeps the old one");
  std::optional<ResultsFile> opened;
  FileAttributes a;
  try {
    opened.emplace(ResultsFile::open(old_path, false));
    a = opened->read_attributes();
  } catch (const std::exception& e) {
    refuse(std::string("not an icl-sweep results file: ") + e.what());
  }
  if (a.schema_version != kSchemaVersion)
    refuse("results schema version " + std::to_string(a.schema_version) + "; this build writes " +
           std::to_string(kSchemaVersion));
  if (a.completed != 1)
    refuse("its sweep has not completed (" + std::to_string(a.rows_done) + " of " + std::to_string(a.rows_total) +
           " rows); finish it with --resume first");

  const SweepIdentity stored{a.config, a.inputs, a.program, a.schema_version};
  const SweepIdentity requested = identity_of(config);
  if (stored.program != requested.program)
    refuse("its rows were computed by another build (" + stored.program + "); this is " + requested.program +
           ": rows are reused only from the build that computes them bitwise alike");
  std::string fixed;
  for (const std::string& d : identity_differences(stored, requested))
    if (!may_differ(d)) fixed += (fixed.empty() ? "" : "; ") + d;
  if (!fixed.empty())
    refuse("it differs in more than the grid: " + fixed +
           " (only the grid's lists and sweep.name may change: docs/interface.md, \"Extending a sweep\")");

  std::optional<SweepConfig> old_config;
  try {
    old_config.emplace(parse_config(a.config, old_path + " (stored config)", {}, &config.inputs));
  } catch (const std::exception& e) {
    refuse(std::string("its config does not fit the new sweep: ") + e.what());
  }
  const Grid old_grid(*old_config);
  if (old_grid.rows() != a.rows_total) refuse("its rows do not match its stored config");

  Extension x(old_path, std::move(*opened), old_grid.conditions_per_run(), grid.conditions_per_run());
  std::unordered_map<std::uint64_t, std::uint64_t> old_by_key;  // train_key -> OLD's run
  for (std::uint64_t id = 0; id < old_grid.runs(); ++id) old_by_key.emplace(old_grid.run(id).train_key, id);
  std::map<int, std::unordered_map<std::string, std::int32_t>> old_conditions;  // by n_train
  std::vector<std::uint8_t> used(old_grid.rows(), 0);
  x.old_run_.assign(grid.runs(), kAbsent);
  x.old_condition_.assign(grid.rows(), -1);
  x.found_.assign(grid.rows(), 0);
  for (std::uint64_t id = 0; id < grid.runs(); ++id) {
    const TrainingRun run = grid.run(id);
    const auto it = old_by_key.find(run.train_key);
    if (it == old_by_key.end()) continue;
    const TrainingRun old_run = old_grid.run(it->second);
    if (run_text(old_run) != run_text(run)) continue;  // a key collision, not the same run
    x.old_run_[id] = it->second;
    auto& by_text = old_conditions[run.n_train];
    if (by_text.empty())
      for (std::uint64_t c = 0; c < old_grid.conditions_per_run(); ++c)
        by_text.emplace(condition_text(old_grid.condition(old_run, c)), static_cast<std::int32_t>(c));
    std::uint64_t found = 0;
    for (std::uint64_t c = 0; c < grid.conditions_per_run(); ++c) {
      const auto at = by_text.find(condition_text(grid.condition(run, c)));
      if (at == by_text.end()) continue;
      x.old_condition_[id * x.conditions_ + c] = at->second;
      x.found_[id * x.conditions_ + c] = 1;
      used[it->second * x.old_conditions_ + static_cast<std::uint64_t>(at->second)] = 1;
      ++found;
    }
    x.reused_ += found;
    if (found == grid.conditions_per_run())
      ++x.whole_;
    else if (found > 0)
      ++x.partial_;
  }
  for (std::uint64_t r = 0; r < used.size(); ++r)
    if (!used[r]) {
      const TrainingRun old_run = old_grid.run(r / x.old_conditions_);
      refuse("its row " + std::to_string(r) + " (" + run_text(old_run) + ", " +
             condition_text(old_grid.condition(old_run, r % x.old_conditions_)) +
             ") is not in the new grid; the new grid must hold every old value");
    }
  return x;
}

bool Extension::whole(std::uint64_t train_id) const {
  if (old_run_[train_id] == kAbsent) return false;
  for (std::uint64_t c = 0; c < conditions_; ++c)
    if (!found_[train_id * conditions_ + c]) return false;
  return true;
}

ResultRow Extension::old_row(std::uint64_t train_id, std::uint64_t condition) const {
  const auto from = old_run_[train_id] * old_conditions_ +
                    static_cast<std::uint64_t>(old_condition_[train_id * conditions_ + condition]);
  ResultRow row = old_.read_rows(from, 1).front();
  row.row = train_id * conditions_ + condition;  // its place in the new grid
  row.train_id = train_id;
  return row;
}

TaskResult Extension::take(std::uint64_t train_id) const {
  TaskResult result;
  result.train_id = train_id;
  for (std::uint64_t c = 0; c < conditions_; ++c) result.rows.push_back(old_row(train_id, c));
  result.trajectory = old_.read_trajectory(old_run_[train_id]);
  return result;
}

void Extension::complete(TaskResult& result) const {
  const std::uint64_t id = result.train_id;
  if (old_run_[id] == kAbsent || result.rows.size() != conditions_) return;
  const std::vector<StoredSample> old = old_.read_trajectory(old_run_[id]);
  if (old.size() != result.trajectory.size() ||
      std::memcmp(old.data(), result.trajectory.data(), old.size() * sizeof(StoredSample)) != 0)
    throw std::runtime_error("training run " + std::to_string(id) + " trained again does not give the trajectory " +
                             source_ + " holds for it (run " + std::to_string(old_run_[id]) +
                             "): its rows cannot be reused");
  for (std::uint64_t c = 0; c < conditions_; ++c)
    if (found_[id * conditions_ + c]) result.rows[c] = old_row(id, c);
}

}  // namespace icl
