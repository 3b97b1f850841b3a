#include "store/extend.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "call_syntax.hpp"
#include "training_status.hpp"
#include "config/config_values.hpp"
#include "config/result_row.hpp"
#include "config/sweep_identity.hpp"
#include "task/stored_model.hpp"

namespace icl {
namespace {

// A run's and a condition's grid values as text: equal texts, equal keys, equal rows.
std::string run_text(const TrainingRun& r) {
  return "d = " + std::to_string(r.d) + ", n_train = " + std::to_string(r.n_train) + ", spectrum = " + r.spectrum +
         ", sigma = " + shortest(r.sigma) + ", train_noise = " + shortest(r.train_noise) + ", init_seed = " + std::to_string(r.init_seed) + ", model = " + r.model.text +
         ", lr = " + shortest(r.lr) + ", steps = " + std::to_string(r.steps) + ", optimizer = " +
         std::string(to_string(r.optimizer)) + ", batch = " + std::to_string(r.batch) +
         ", lr_schedule = " + std::string(to_string(r.schedule)) + ", init = " + r.init;
}
std::string condition_text(const Condition& c) {
  return "m_test = " + std::to_string(c.m) + ", shift = " + c.shift.text + ", ridge_lambda = " + shortest(c.ridge_lambda) +
         ", knn_k = " + std::to_string(c.knn_k);
}

bool list_key(const std::string& key) {
  for (const ConfigKey& k : config_key_table())
    if (k.list && k.name == key) return true;
  return false;
}

// What may differ between a finished file and the sweep reusing it: the grid's lists (the
// config's list keys) and the name; a file the new grid reads that the old one did not.
bool may_differ(const std::string& difference) {
  const std::string key = difference.substr(0, difference.find(": stored '"));
  if (key == "sweep.name" || list_key(key)) return true;
  return key.rfind("input ", 0) == 0 && difference.find(": stored '(none)'") != std::string::npos;
}

// A row without what depends on where and when it was computed, nor on its place in a grid.
ResultRow comparable(ResultRow row) {
  row.row = row.train_id = 0;
  row.seconds = row.train_seconds = row.finished_unix = 0.0;
  row.rank = row.device = 0;
  return row;
}

[[noreturn]] void refuse(const std::string& path, const std::string& why) {
  throw ExtendRefusal(path + ": " + why);
}

}  // namespace

SweepConfig Extension::check_source(const std::string& path, const SweepConfig& config,
                                    std::optional<ResultsFile>& file) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) refuse(path, "no such file");
  if (fs::equivalent(path, config.output, ec))
    refuse(path, "it is the output itself; the output is a new file and this one is kept");
  FileAttributes a;
  try {
    file.emplace(ResultsFile::open(path, false));
    a = file->read_attributes();
  } catch (const std::exception& e) {
    refuse(path, std::string("not an icl-sweep results file: ") + e.what());
  }
  if (a.schema_version != kSchemaVersion) {
    const std::string why = schema_changes_since(a.schema_version);
    refuse(path, "results schema version " + std::to_string(a.schema_version) + "; this build writes " +
                     std::to_string(kSchemaVersion) + (why.empty() ? "" : " (" + why + ")") +
                     ": its rows cannot be reused");
  }
  if (a.completed != 1)
    refuse(path, "its sweep has not completed (" + std::to_string(a.rows_done) + " of " + std::to_string(a.rows_total) +
                     " rows); finish it with --resume first");
  std::uint64_t done = 0;
  try {
    done = file->count_done();
  } catch (const std::exception& e) {
    refuse(path, std::string("its rows cannot be read: ") + e.what());
  }
  if (done != a.rows_total)
    refuse(path, "it is marked complete, but " + std::to_string(a.rows_total - std::min(done, a.rows_total)) + " of its " +
                     std::to_string(a.rows_total) + " rows are not done (done is not 1, or no status): not a result to reuse");
  const SweepIdentity stored{a.config, a.inputs, a.program, a.schema_version};
  const SweepIdentity requested = identity_of(config);
  if (stored.program != requested.program)
    refuse(path, "its rows were computed by another build (" + stored.program + "); this is " + requested.program +
                     ": rows are reused only from the build that computes them bitwise alike");
  std::string fixed;
  for (const std::string& d : identity_differences(stored, requested))
    if (!may_differ(d)) fixed += (fixed.empty() ? "" : "; ") + d;
  if (!fixed.empty())
    refuse(path, "it differs in more than the grid: " + fixed +
                     " (only the grid's lists and sweep.name may change: docs/interface.md, \"Extending a sweep\")");
  try {
    SweepConfig stored_config = parse_config(a.config, path + " (stored config)", {}, &config.inputs);
    if (Grid(stored_config).rows() != a.rows_total) refuse(path, "its rows do not match its stored config");
    return stored_config;
  } catch (const ConfigError& e) {
    refuse(path, std::string("its config does not fit the new sweep: ") + e.what());
  }
}

void Extension::add(Source source, const SweepConfig& source_config, const Grid& grid, bool every_row_needed) {
  const Grid old_grid(source_config);
  const auto s = static_cast<std::int32_t>(sources_.size());
  source.conditions = old_grid.conditions_per_run();
  sources_.push_back(std::move(source));
  const Source& src = sources_.back();
  // train_key -> the source's runs (runs that differ only in optimizer, batch, lr_schedule or init
  // share it: their run texts tell them apart; a value listed twice gives equal runs, all reused).
  std::unordered_map<std::uint64_t, std::vector<std::uint64_t>> old_by_key;
  for (std::uint64_t id = 0; id < old_grid.runs(); ++id) old_by_key[old_grid.run(id).train_key].push_back(id);
  // By n_train, condition text -> the source's conditions (`m_test = n, 20` at N = 20 lists M = 20 twice).
  std::map<int, std::unordered_map<std::string, std::vector<std::uint64_t>>> old_conditions;
  std::vector<std::uint8_t> used(old_grid.rows(), 0);
  for (std::uint64_t id = 0; id < grid.runs(); ++id) {
    const TrainingRun run = grid.run(id);
    const auto it = old_by_key.find(run.train_key);
    if (it == old_by_key.end()) continue;
    const std::string text = run_text(run);
    std::vector<std::uint64_t> equal_runs;
    for (const std::uint64_t old : it->second)
      if (run_text(old_grid.run(old)) == text) equal_runs.push_back(old);
    if (equal_runs.empty()) continue;  // other settings, or a key collision: not the same run
    const std::uint64_t old_id = equal_runs.front();
    const TrainingRun old_run = old_grid.run(old_id);
    // GPT-2's position table has the grid's longest prompt as its size, and its weights are drawn
    // after it: such a run depends on the longest M of its grid, not only on its own keys.
    if (run.model.kind == ModelSpec::Kind::gpt2 && grid.max_test_m(run) != old_grid.max_test_m(old_run))
      refuse(src.path, "its run " + std::to_string(old_id) + " (" + run_text(run) + ") is a GPT-2 whose position " +
                           "table is sized by the grid's longest test prompt: " + std::to_string(old_grid.max_test_m(old_run)) +
                           " there, " + std::to_string(grid.max_test_m(run)) +
                           " here; keep eval.m_test's largest value to reuse its rows");
    const Place run_at{s, old_id};
    if (run_place_[id].source < 0) {
      run_place_[id] = run_at;
    } else {
      const auto kept = static_cast<std::uint64_t>(run.model.stored_parameters(run.d));
      const RunExtras b = extras_at(run_at, kept);
      if (!extras_at(run_place_[id], kept).same_as(b.trajectory, b.parameters))
        refuse(src.path, "its training run " + std::to_string(old_id) + " (" + run_text(run) +
                             ") has another trajectory or other trained weights than " +
                             sources_[run_place_[id].source].path + "'s");
    }
    auto& by_text = old_conditions[run.n_train];
    if (by_text.empty())
      for (std::uint64_t c = 0; c < old_grid.conditions_per_run(); ++c)
        by_text[condition_text(old_grid.condition(old_run, c))].push_back(c);
    for (std::uint64_t c = 0; c < conditions_; ++c) {
      const Condition cond = grid.condition(run, c);
      const auto at = by_text.find(condition_text(cond));
      if (at == by_text.end()) continue;
      const Place here{s, old_id * src.conditions + at->second.front()};
      for (const std::uint64_t equal_run : equal_runs)
        for (const std::uint64_t equal_condition : at->second) used[equal_run * src.conditions + equal_condition] = 1;
      Place& place = row_place_[id * conditions_ + c];
      if (place.source < 0) {
        place = here;
        found_[id * conditions_ + c] = 1;
        continue;
      }
      const ResultRow a = comparable(row_at(place)), b = comparable(row_at(here));
      if (std::memcmp(&a, &b, sizeof a) != 0)
        refuse(src.path, "its row " + std::to_string(here.index) + " (" + run_text(run) + ", " + condition_text(cond) +
                             ") differs from the same row of " + sources_[place.source].path);
    }
  }
  if (every_row_needed)
    for (std::uint64_t r = 0; r < used.size(); ++r)
      if (!used[r]) {
        const TrainingRun old_run = old_grid.run(r / src.conditions);
        refuse(src.path, "its row " + std::to_string(r) + " (" + run_text(old_run) + ", " +
                             condition_text(old_grid.condition(old_run, r % src.conditions)) +
                             ") is not in the new grid; the new grid must hold every old value");
      }
}

Extension Extension::plan(const std::string& old_path, const SweepConfig& config, const Grid& grid) {
  return merge({old_path}, config, grid);
}

Extension Extension::merge(const std::vector<std::string>& inputs, const SweepConfig& config, const Grid& grid) {
  Extension x;
  x.conditions_ = grid.conditions_per_run();
  x.row_place_.assign(grid.rows(), Place{});
  x.run_place_.assign(grid.runs(), Place{});
  x.found_.assign(grid.rows(), 0);
  for (const std::string& path : inputs) {
    std::optional<ResultsFile> file;
    const SweepConfig source_config = check_source(path, config, file);
    x.add(Source{path, std::move(*file), 0}, source_config, grid, true);
  }
  for (std::uint64_t id = 0; id < grid.runs(); ++id) {
    std::uint64_t found = 0;
    for (std::uint64_t c = 0; c < x.conditions_; ++c) found += x.found_[id * x.conditions_ + c];
    x.reused_ += found;
    for (std::uint64_t c = 0; c < x.conditions_ && found < x.conditions_ && x.first_missing_.empty(); ++c)
      if (!x.found_[id * x.conditions_ + c]) {
        const TrainingRun run = grid.run(id);
        x.first_missing_ = run_text(run) + ", " + condition_text(grid.condition(run, c));
      }
    if (found == x.conditions_)
      ++x.whole_;
    else if (found > 0)
      ++x.partial_;
  }
  return x;
}

SweepConfig Extension::union_config(const std::vector<std::string>& inputs, const std::string& output) {
  std::vector<std::string> texts;
  for (const std::string& path : inputs) {
    try {
      texts.push_back(ResultsFile::open(path, false).read_attributes().config);
    } catch (const std::exception& e) {
      refuse(path, std::string("not an icl-sweep results file: ") + e.what());
    }
  }
  Overrides overrides;
  for (const ConfigKey& key : config_key_table()) {
    if (!key.list) continue;
    std::vector<std::string> items;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      const auto entries = config::read_ini(texts[i], inputs[i] + " (stored config)", config_keys());
      const auto e = entries.find(key.name);
      if (e == entries.end()) continue;
      for (const std::string& item : config::split_list(e->second))
        if (std::find(items.begin(), items.end(), item) == items.end()) items.push_back(item);
    }
    std::string joined;
    for (const std::string& item : items) joined += (joined.empty() ? "" : ", ") + item;
    if (!joined.empty()) overrides.emplace_back(key.name, joined);
  }
  overrides.emplace_back("sweep.output", output);
  try {
    return parse_config(texts.front(), inputs.front() + " (stored config)", overrides);
  } catch (const ConfigError& e) {
    refuse(inputs.front(), std::string("the union of the inputs' grids is not a sweep: ") + e.what());
  }
}

std::string Extension::sources() const {
  std::string s;
  for (const Source& src : sources_) s += (s.empty() ? "" : ", ") + src.path;
  return s;
}

bool Extension::whole(std::uint64_t train_id) const {
  for (std::uint64_t c = 0; c < conditions_; ++c)
    if (!found_[train_id * conditions_ + c]) return false;
  return run_place_[train_id].source >= 0;
}

ResultRow Extension::row_at(const Place& place) const {
  if (block_.source != place.source || place.index < block_.first || place.index >= block_.first + block_.rows.size()) {
    const ResultsFile& file = sources_[static_cast<std::size_t>(place.source)].file;
    const std::uint64_t first = place.index - place.index % ResultsFile::kRowsPerChunk;
    const std::uint64_t total = file.read_attributes().rows_total;
    block_.rows = file.read_rows(first, std::min(ResultsFile::kRowsPerChunk, total - first));
    block_.source = place.source;
    block_.first = first;
  }
  return block_.rows[place.index - block_.first];
}

Extension::RunExtras Extension::extras_at(const Place& place, std::uint64_t parameters) const {
  const ResultsFile& file = sources_[static_cast<std::size_t>(place.source)].file;
  RunExtras e{file.read_trajectory(place.index), file.read_parameters(place.index)};
  if (e.parameters.size() < parameters)
    throw std::runtime_error(sources_[static_cast<std::size_t>(place.source)].path + ": run " +
                             std::to_string(place.index) + " keeps " + std::to_string(e.parameters.size()) +
                             " weights, fewer than its model's " + std::to_string(parameters));
  e.parameters.resize(parameters);
  return e;
}

bool Extension::RunExtras::same_as(const std::vector<StoredSample>& t, const std::vector<double>& p) const {
  return t.size() == trajectory.size() && p.size() == parameters.size() &&
         std::memcmp(t.data(), trajectory.data(), t.size() * sizeof(StoredSample)) == 0 &&
         (p.empty() || std::memcmp(p.data(), parameters.data(), p.size() * sizeof(double)) == 0);
}

ResultRow Extension::placed_row(std::uint64_t train_id, std::uint64_t condition) const {
  ResultRow row = row_at(row_place_[train_id * conditions_ + condition]);
  row.row = train_id * conditions_ + condition;  // its place in this grid
  row.train_id = train_id;
  return row;
}

TaskResult Extension::take(std::uint64_t train_id) const {
  TaskResult result;
  result.train_id = train_id;
  for (std::uint64_t c = 0; c < conditions_; ++c) result.rows.push_back(placed_row(train_id, c));
  const ResultRow first = placed_row(train_id, 0);
  const auto kept = static_cast<std::uint64_t>(parse_model(first.model).stored_parameters(first.d));
  RunExtras extras = extras_at(run_place_[train_id], kept);
  result.trajectory = std::move(extras.trajectory);
  result.parameters = std::move(extras.parameters);
  result.model_state = sources_[static_cast<std::size_t>(run_place_[train_id].source)].file.read_model_state(
      run_place_[train_id].index);
  return result;
}

std::string Extension::stored_model(std::uint64_t train_id) const {
  const Place& run = run_place_[train_id];
  if (run.source < 0 || whole(train_id)) return {};
  const Source& source = sources_[static_cast<std::size_t>(run.source)];
  const ResultRow first = source.file.read_rows(run.index * source.conditions, 1).front();
  if (std::string_view(first.status) == to_string(TrainingStatus::failed)) return {};
  const ModelSpec model = parse_model(first.model);
  if (model.sampled()) return source.file.read_model_state(run.index);
  const RunExtras extras = extras_at(run, static_cast<std::uint64_t>(model.stored_parameters(first.d)));
  return encode_flow(first.d, extras.parameters, first, extras.trajectory);
}

void Extension::complete(TaskResult& result) const {
  const std::uint64_t id = result.train_id;
  const Place& run = run_place_[id];
  if (run.source < 0 || result.rows.size() != conditions_) return;
  RunExtras old = extras_at(run, result.parameters.size());
  // A run that failed this time keeps its failed rows for the new conditions (the sweep goes on,
  // as for any run); the reused rows, their trajectory and weights are the file's.
  const bool failed = std::any_of(result.rows.begin(), result.rows.end(), [](const ResultRow& r) {
    return r.done == 1 && std::string_view(r.status) == to_string(TrainingStatus::failed);
  });
  if (failed) {
    result.trajectory = std::move(old.trajectory);
    result.parameters = std::move(old.parameters);
  } else if (!old.same_as(result.trajectory, result.parameters))
    throw std::runtime_error("training run " + std::to_string(id) + " trained again does not give the trajectory and weights " +
                             sources_[static_cast<std::size_t>(run.source)].path + " holds for it (run " +
                             std::to_string(run.index) + "): its rows cannot be reused");
  for (std::uint64_t c = 0; c < conditions_; ++c)
    if (found_[id * conditions_ + c]) result.rows[c] = placed_row(id, c);
}

}  // namespace icl
