#include "store/sweep_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <utility>

#include "store/file_sync.hpp"
#include "config/version.hpp"

namespace icl {
namespace {

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// A results file is built under a temporary name beside the output and renamed over it only
// once complete: a refused or failed start never leaves a truncated output behind.
std::string temporary_path(const std::string& output, long pid = ::getpid()) {
  return output + ".building-" + std::to_string(pid);
}
constexpr long kLargestPid = 4194304;  // Linux's pid_max ceiling


FileAttributes initial_attributes(const SweepIdentity& identity, const Grid& grid, int ranks) {
  FileAttributes a;
  a.config = identity.config;
  a.inputs = identity.inputs;
  a.schema_version = identity.schema;
  a.program = identity.program;
  a.tool_version = tool_version();
  a.git_commit = git_commit();
  a.created_utc = a.updated_utc = utc_now();
  a.mpi_ranks = ranks;
  a.rows_total = grid.rows();
  return a;
}

// The texts the grid's rows hold, as the file stores them once (results_file.hpp).
TextValues text_values(const Grid& grid) {
  TextValues texts;
  const SweepConfig& config = grid.config();
  texts.spectrum = config.spectrum;
  for (const Shift& shift : config.shift) texts.shift.push_back(shift.text);
  for (const ModelSpec& model : config.model) texts.model.push_back(model.text);
  for (const TrainOptions::Optimizer o : config.optimizer) texts.optimizer.emplace_back(to_string(o));
  for (const TrainOptions::Schedule s : config.lr_schedule) texts.lr_schedule.emplace_back(to_string(s));
  texts.init = config.init;
  return texts;
}

SweepIdentity identity_of_file(const FileAttributes& a) {
  return SweepIdentity{a.config, a.inputs, a.program, a.schema_version};
}

}  // namespace

std::string journal_path(const std::string& output) { return output + ".journal"; }

std::string output_path_problem(const std::string& output) {
  namespace fs = std::filesystem;
  if (output.empty()) return "no output file named";
  struct stat st {};
  if (::lstat(output.c_str(), &st) == 0) {
    if (S_ISLNK(st.st_mode)) {
      std::error_code ec;
      return "is a symbolic link (to " + fs::read_symlink(output, ec).string() +
             "); name the file itself: icl-sweep replaces its output by renaming, which would replace the link";
    }
    if (S_ISDIR(st.st_mode)) return "is a directory; name a file";
    if (!S_ISREG(st.st_mode)) return "is not a regular file";
  }
  const fs::path parent = fs::path(output).has_parent_path() ? fs::path(output).parent_path() : fs::path(".");
  if (::stat(parent.c_str(), &st) != 0) return "its directory " + parent.string() + " does not exist";
  if (!S_ISDIR(st.st_mode)) return parent.string() + " is not a directory";
  if (::access(parent.c_str(), W_OK | X_OK) != 0)
    return "cannot write in its directory " + parent.string() + ": " + std::strerror(errno);
  // Every name the sweep may write beside the output must fit the file system, checked now
  // rather than when a resume needs one of them.
  const std::string longest[] = {temporary_path(output, kLargestPid),
                                 journal_path(output) + ".damaged.999", journal_path(output) + ".rewrite-" + std::to_string(kLargestPid),
                                 RunCheckpoints::directory(output) + "/run-18446744073709551615.tmp-" + std::to_string(kLargestPid)};
  const long name_max = ::pathconf(parent.c_str(), _PC_NAME_MAX);
  const std::size_t name = fs::path(output).filename().string().size();
  std::size_t suffix = 0;
  for (const std::string& path : longest)
    suffix = std::max(suffix, fs::path(path).parent_path() == parent ? path.size() - output.size() : 0);
  if (name_max > 0 && name + suffix > static_cast<std::size_t>(name_max))
    return "the file name has " + std::to_string(name) + " characters; with the longest name icl-sweep writes beside it (" +
           std::to_string(suffix) + " more) it must have at most " + std::to_string(name_max - static_cast<long>(suffix)) +
           " on this file system";
  for (const std::string& path : longest)
    if (path.size() >= PATH_MAX)
      return "the path is too long: " + path.substr(output.size()) + " appended to it exceeds " + std::to_string(PATH_MAX) +
             " characters";
  return "";
}

ExistingOutput inspect_output(const std::string& output) {
  namespace fs = std::filesystem;
  std::error_code ec;
  ExistingOutput e;
  if (fs::exists(journal_path(output), ec)) {
    e.kind = ExistingOutput::Kind::unfinished;
    try {
      e.identity = SweepIdentity::parse(Journal::read_header(journal_path(output)));
    } catch (const std::exception& x) {
      e.kind = ExistingOutput::Kind::foreign;
      e.why = x.what();
    }
    return e;
  }
  if (!fs::exists(output, ec)) return e;
  e.kind = ExistingOutput::Kind::foreign;
  try {
    const ResultsFile file = ResultsFile::open(output, false);
    const FileAttributes a = file.read_attributes();
    if (a.completed != 1) {
      e.why = "it is not complete and has no journal " + journal_path(output) + " to resume from";
      return e;
    }
    if (const std::uint64_t done = file.count_done(); done != a.rows_total) {
      e.why = "it is marked complete, but " + std::to_string(a.rows_total - std::min(done, a.rows_total)) + " of its " +
              std::to_string(a.rows_total) + " rows are not done (done is not 1, or no status): not a result";
      return e;
    }
    e.kind = ExistingOutput::Kind::complete;
    e.identity = identity_of_file(a);
  } catch (const std::exception& x) {
    e.why = std::string("it is not an icl-sweep results file of this schema: ") + x.what();
  }
  return e;
}

namespace {

// A run's own trained weights, NaN-padded to the file's width (a run keeps 2 L (d+1)^2 values, the
// file the grid's most).
void append_padded(std::vector<double>& block, const std::vector<double>& run, std::uint64_t width) {
  if (run.size() > width)
    throw std::logic_error("a run keeps " + std::to_string(run.size()) + " weights, more than the file's " +
                           std::to_string(width));
  block.insert(block.end(), run.begin(), run.end());
  block.resize(block.size() + (width - run.size()), std::numeric_limits<double>::quiet_NaN());
}

}  // namespace

void write_snapshot(const std::string& path, const SweepIdentity& identity, const Grid& grid, int trajectory_points,
                    const std::vector<TaskResult>& records) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) throw StoreRefusal(path + " exists; the snapshot is written to a new file");
  if (const std::string problem = output_path_problem(path); !problem.empty()) throw StoreRefusal(path + ": " + problem);
  const std::string built_at = temporary_path(path);
  try {
    FileAttributes a = initial_attributes(identity, grid, 1);
    ResultsFile file = ResultsFile::create(built_at, grid.rows(), grid.runs(), trajectory_points,
                                           grid.parameters_per_run(), a, text_values(grid));
    std::vector<char> done(grid.runs(), 0);
    for (const TaskResult& r : records) {
      if (r.train_id >= grid.runs() || done[r.train_id] || r.rows.size() != grid.conditions_per_run()) continue;
      file.write_rows(r.train_id * grid.conditions_per_run(), r.rows);
      file.write_trajectory(r.train_id, r.trajectory);
      std::vector<double> parameters;
      if (file.parameters_per_run() > 0) append_padded(parameters, r.parameters, file.parameters_per_run());
      file.write_parameters(r.train_id, parameters);
      file.write_model_state(r.train_id, r.model_state);
      done[r.train_id] = 1;
      a.rows_done += r.rows.size();
    }
    file.write_attributes(a);
    file.flush();
    file.close();
    std::filesystem::rename(built_at, path);
  } catch (...) {
    std::filesystem::remove(built_at, ec);
    throw;
  }
}

SweepStore::SweepStore(std::string output, Journal journal, ResultsFile file, FileAttributes attributes,
                       std::uint64_t runs, std::uint64_t conditions)
    : output_(std::move(output)),
      journal_(std::move(journal)),
      file_(std::move(file)),
      attributes_(std::move(attributes)),
      conditions_(conditions),
      done_(runs, 0) {}

SweepStore::SweepStore(SweepStore&&) noexcept = default;
SweepStore& SweepStore::operator=(SweepStore&&) noexcept = default;
SweepStore::~SweepStore() = default;

SweepStore SweepStore::assemble(const std::string& output, Journal journal, const SweepIdentity& identity,
                                const Grid& grid, int trajectory_points, int ranks,
                                const std::vector<TaskResult>& records) {
  const std::string built_at = temporary_path(output);
  try {
    const FileAttributes attributes = initial_attributes(identity, grid, ranks);
    SweepStore store(output, std::move(journal),
                     ResultsFile::create(built_at, grid.rows(), grid.runs(), trajectory_points,
                                         grid.parameters_per_run(), attributes, text_values(grid)),
                     attributes,
                     grid.runs(), grid.conditions_per_run());
    for (const TaskResult& r : records)
      if (r.train_id < grid.runs() && !store.done(r.train_id)) store.put(TaskResult(r));
    store.write_pending();
    store.file_->flush();
    std::filesystem::rename(built_at, output);
    sync_directory_of(output);
    store.checkpoints_.emplace(output, identity);
    return store;
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(built_at, ec);
    throw;
  }
}

SweepStore SweepStore::create(const std::string& output, const SweepIdentity& identity, const Grid& grid,
                              int trajectory_points, int ranks) {
  std::error_code ec;
  const bool journal_existed = std::filesystem::exists(journal_path(output), ec);
  std::optional<Journal> journal;
  try {
    journal.emplace(Journal::create(journal_path(output), identity.text()));
  } catch (const std::exception& e) {
    if (dynamic_cast<const JournalLocked*>(&e) != nullptr)
      throw StoreRefusal(std::string("cannot create the journal: ") + e.what());
    if (!journal_existed) std::filesystem::remove(journal_path(output), ec);  // created here: nothing may stay behind
    throw StoreFailure(std::string("cannot create the journal: ") + e.what());
  }
  try {
    SweepStore store = assemble(output, std::move(*journal), identity, grid, trajectory_points, ranks, {});
    store.checkpoints_->remove_all();  // a fresh start: earlier training states are not this sweep's
    return store;
  } catch (const std::exception& e) {
    // Nothing of a refused fresh start may stay behind; an output it was to replace stays.
    journal.reset();
    std::filesystem::remove(journal_path(output), ec);
    throw StoreFailure(std::string("cannot write the file: ") + e.what());
  }
}

SweepStore SweepStore::resume(const std::string& output, const SweepIdentity& identity, const Grid& grid,
                              int trajectory_points, int ranks, std::vector<std::string>& notes) {
  JournalRecovery found;
  Journal journal = Journal::resume(journal_path(output), found);
  if (!identity_differences(SweepIdentity::parse(found.config), identity).empty())
    throw std::runtime_error("the journal " + journal_path(output) + " belongs to another sweep");
  for (const JournalRecovery::Gap& gap : found.gaps)
    notes.push_back(journal_path(output) + ": " + std::to_string(gap.length) + " bytes at byte " +
                    std::to_string(gap.offset) + " are no intact record of this sweep (" +
                    (gap.foreign_records > 0 ? std::to_string(gap.foreign_records) + " record(s) of another sweep"
                     : gap.at_end            ? "a record torn by a crash during its write"
                                             : "damaged") +
                    "); the runs they held are computed again");
  if (!found.kept_aside.empty())
    notes.push_back(journal_path(output) + ": all " + std::to_string(found.records.size()) +
                    " intact records are kept; the original journal is kept as " + found.kept_aside +
                    " until the sweep completes");
  SweepStore store = assemble(output, std::move(journal), identity, grid, trajectory_points, ranks, found.records);
  store.kept_here_ = found.kept_aside;
  return store;
}

// Rows and kept weights held in memory before they are written: bound rank 0's memory (about
// 1 KB a row with its trajectory, and 32 MB of weights and model states) whatever the sweep's size.
constexpr std::size_t kPendingRows = 4096;
constexpr std::size_t kPendingParameters = std::size_t{1} << 22;

void SweepStore::put(TaskResult&& result) {
  done_[result.train_id] = 1;
  attributes_.rows_done += result.rows.size();
  pending_rows_ += result.rows.size();
  pending_parameters_ += result.parameters.size() + result.model_state.size() / sizeof(double);
  pending_.push_back(std::move(result));
  if (pending_rows_ >= kPendingRows || pending_parameters_ >= kPendingParameters) write_pending();
}

void SweepStore::write_pending() {
  std::sort(pending_.begin(), pending_.end(), [](const TaskResult& a, const TaskResult& b) { return a.train_id < b.train_id; });
  std::vector<ResultRow> rows;
  std::vector<StoredSample> samples;
  std::vector<double> parameters;
  for (std::size_t first = 0; first < pending_.size();) {
    std::size_t end = first + 1;
    while (end < pending_.size() && pending_[end].train_id == pending_[end - 1].train_id + 1) ++end;
    rows.clear();
    samples.clear();
    parameters.clear();
    for (std::size_t i = first; i < end; ++i) {
      rows.insert(rows.end(), pending_[i].rows.begin(), pending_[i].rows.end());
      samples.insert(samples.end(), pending_[i].trajectory.begin(), pending_[i].trajectory.end());
      if (file_->parameters_per_run() > 0) append_padded(parameters, pending_[i].parameters, file_->parameters_per_run());
    }
    file_->write_rows(pending_[first].train_id * conditions_, rows);
    file_->write_trajectory(pending_[first].train_id, samples);
    file_->write_parameters(pending_[first].train_id, parameters);
    for (std::size_t i = first; i < end; ++i) file_->write_model_state(pending_[i].train_id, pending_[i].model_state);
    first = end;
  }
  pending_.clear();
  pending_rows_ = 0;
  pending_parameters_ = 0;
}

void SweepStore::record(TaskResult&& result) {
  // When it arrived (rows reused from another file keep theirs): `icl-sweep --status` reads rates
  // and each rank's last report from the journal's.
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (ResultRow& row : result.rows)
    if (std::isnan(row.finished_unix)) row.finished_unix = now;
  journal_.append(result);  // first: the journal is what a crash leaves behind
  finished_.push_back(result.train_id);  // its training state goes once the journal is on disk
  put(std::move(result));
}

void SweepStore::checkpoint() {
  journal_.sync();
  write_pending();
  if (checkpoints_)
    for (const std::uint64_t id : finished_) checkpoints_->remove(id);
  finished_.clear();
  attributes_.updated_utc = utc_now();
  file_->write_attributes(attributes_);
  file_->flush();
}

void SweepStore::finish() {
  attributes_.completed = 1;
  checkpoint();
  file_->close();
  file_.reset();
  sync_file(output_);
  sync_directory_of(output_);
  // Reopened as a reader would: the file must be intact and complete before the journal goes.
  const ResultsFile reread = ResultsFile::open(output_, false);
  const FileAttributes a = reread.read_attributes();
  const std::uint64_t done = reread.count_done();
  if (a.completed != 1 || a.schema_version != kSchemaVersion || a.rows_done != a.rows_total ||
      done != a.rows_total)
    throw std::runtime_error("\"" + output_ + "\" did not read back complete (" + std::to_string(done) + " of " +
                             std::to_string(a.rows_total) + " rows done); its journal is kept");
  std::filesystem::remove(journal_path(output_));
  // The damaged journal this process kept aside goes; any other of such a name stays, for nothing
  // shows that icl-sweep made it (a copy the user made of the journal looks the same): said.
  std::error_code ec;
  if (!kept_here_.empty()) std::filesystem::remove(kept_here_, ec);
  for (const std::string& kept : damaged_journals(journal_path(output_)))
    std::fprintf(stderr, "icl-sweep: %s is left in place (a damaged journal kept aside by an earlier resume, or a file "
                 "of yours); the sweep no longer needs it\n", kept.c_str());
  if (checkpoints_) checkpoints_->remove_all();
}

}  // namespace icl
