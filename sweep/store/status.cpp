#include "store/status.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <functional>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "task/grid.hpp"
#include "store/journal.hpp"
#include "config/result_row.hpp"
#include "store/results_file.hpp"
#include "config/sweep_config.hpp"
#include "config/sweep_identity.hpp"
#include "store/sweep_store.hpp"

namespace icl {
namespace {

// Rows per second are measured over the last this many seconds of records (or all of them).
constexpr double kRateWindow = 300.0;
// Ranks listed by name at most; the rest are counted.
constexpr std::size_t kRanksListed = 8;

double now_unix() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string duration(double seconds) {
  if (!std::isfinite(seconds)) return "unknown";
  const auto s = static_cast<long long>(std::llround(std::max(seconds, 0.0)));
  char text[64];
  if (s < 120)
    std::snprintf(text, sizeof text, "%lld s", s);
  else if (s < 7200)
    std::snprintf(text, sizeof text, "%lld min %lld s", s / 60, s % 60);
  else if (s < 172800)
    std::snprintf(text, sizeof text, "%lld h %lld min", s / 3600, (s % 3600) / 60);
  else
    std::snprintf(text, sizeof text, "%lld d %lld h", s / 86400, (s % 86400) / 3600);
  return text;
}

// The process on this node that holds the journal's lock (a running icl-sweep), from /proc/locks:
// read, never taken. A writer on another node is not seen.
std::optional<long> lock_holder(const std::string& journal) {
  struct stat st {};
  if (::stat(journal.c_str(), &st) != 0) return std::nullopt;
  std::ifstream locks("/proc/locks");
  for (std::string line; std::getline(locks, line);) {
    std::istringstream in(line);
    std::string number, kind, mode, access, where;
    long pid = 0;
    if (!(in >> number >> kind >> mode >> access >> pid >> where) || kind != "FLOCK") continue;
    unsigned major = 0, minor = 0;
    unsigned long long inode = 0;
    if (std::sscanf(where.c_str(), "%x:%x:%llu", &major, &minor, &inode) == 3 && inode == st.st_ino &&
        major == ::major(st.st_dev) && minor == ::minor(st.st_dev))
      return pid;
  }
  return std::nullopt;
}

struct Summary {
  std::uint64_t rows_total = 0, runs_total = 0, rows_done = 0, runs_done = 0;
  std::map<std::string, std::uint64_t, std::less<>> by_status;
  std::map<int, double> last_by_rank;  // when each rank's last row was recorded
  double first = INFINITY, last = -INFINITY;  // the earliest and latest record time
  bool keep_times = false;  // a running sweep's rate needs every record time; a finished one's span only these two
  std::vector<double> times;  // every row's record time, when kept
  // A sweep in progress, from its journal: each run recorded (its record time, the cost model's
  // estimate, the wall seconds its rows took, its rank), and the estimated cost of the runs left.
  struct Run {
    double time, cost, seconds;
    int rank;
  };
  std::vector<Run> runs;
  double cost_left = 0.0;
};

// The ETA of a sweep in progress: the cost model's estimate of the runs left, scaled by what the
// recent runs really took against their estimates (wall seconds per estimated second, over the
// runs of the last kRateWindow of records), over the ranks that recorded them. Wall seconds are
// the runs' own, so the time a sweep was stopped between its processes counts for nothing.
std::string eta_text(const Summary& s) {
  if (s.runs.empty()) return "";
  double last = -INFINITY;
  for (const Summary::Run& r : s.runs) last = std::max(last, r.time);
  double cost = 0.0, seconds = 0.0;
  std::set<int> ranks;
  for (const Summary::Run& r : s.runs) {
    if (r.time < last - kRateWindow) continue;
    cost += r.cost;
    seconds += r.seconds;
    ranks.insert(r.rank);
  }
  if (!(cost > 0.0) || !(seconds > 0.0)) return "";
  const double factor = seconds / cost;
  char times[32];
  std::snprintf(times, sizeof times, "%.2g", factor);
  return "ETA " + duration(factor * s.cost_left / static_cast<double>(ranks.size())) + " after the last record (the cost "
         "model's estimate of the runs left, times " + times + ", what the recent runs took against theirs, on the " +
         std::to_string(ranks.size()) + " rank(s) that recorded them)";
}

void count(Summary& s, const ResultRow& row) {
  if (row.done != 1) return;
  ++s.rows_done;
  const std::string_view status(row.status);
  const auto at = s.by_status.find(status);
  ++(at != s.by_status.end() ? at->second : s.by_status[std::string(status)]);
  if (std::isfinite(row.finished_unix)) {
    if (s.keep_times) s.times.push_back(row.finished_unix);
    s.first = std::min(s.first, row.finished_unix);
    s.last = std::max(s.last, row.finished_unix);
    double& last = s.last_by_rank[row.rank];
    last = std::max(last, row.finished_unix);
  }
}

void print(const std::string& what, Summary& s, bool finished) {
  const double now = now_unix();
  std::printf("%s\n", what.c_str());
  std::printf("rows: %llu of %llu done (%.1f%%); runs: %llu of %llu\n", static_cast<unsigned long long>(s.rows_done),
              static_cast<unsigned long long>(s.rows_total),
              s.rows_total ? 100.0 * static_cast<double>(s.rows_done) / static_cast<double>(s.rows_total) : 100.0,
              static_cast<unsigned long long>(s.runs_done), static_cast<unsigned long long>(s.runs_total));
  std::string statuses;
  for (const auto& [status, n] : s.by_status)
    statuses += (statuses.empty() ? "" : ", ") + status + " " + std::to_string(n);
  std::printf("by status: %s\n", statuses.empty() ? "none yet" : statuses.c_str());
  if (!(s.last >= s.first)) return;  // no row with a record time
  const double last = s.last;
  if (!finished) {
    std::vector<double>& times = s.times;
    std::sort(times.begin(), times.end());
    const double from = std::max(s.first, last - kRateWindow);
    // Rows recorded after the window's start: those at its start were done before it began.
    const auto in_window = static_cast<double>(times.end() - std::upper_bound(times.begin(), times.end(), from));
    const double span = last - from;
    if (span > 0.0) std::printf("rate: %.3g rows/s over the last %s of records\n", in_window / span, duration(span).c_str());
    if (const std::string eta = eta_text(s); !eta.empty()) std::printf("%s\n", eta.c_str());
    std::printf("last record: %s ago\n", duration(now - last).c_str());
  } else {
    std::printf("computed in %s (first to last record)\n", duration(last - s.first).c_str());
  }
  std::vector<std::pair<double, int>> ranks;
  for (const auto& [rank, t] : s.last_by_rank) ranks.emplace_back(t, rank);
  std::sort(ranks.begin(), ranks.end());  // the longest silent first
  std::string listed;
  for (std::size_t i = 0; i < ranks.size() && i < kRanksListed; ++i)
    listed += (listed.empty() ? "" : ", ") + std::string("rank ") + std::to_string(ranks[i].second) + " " +
              duration(now - ranks[i].first) + " ago";
  std::printf("ranks: %zu reported; last reports, the longest ago first: %s%s\n", ranks.size(), listed.c_str(),
              ranks.size() > kRanksListed ? ", ..." : "");
}

}  // namespace

int print_status(const std::string& output, const std::string& snapshot) {
  const std::string journal = journal_path(output);
  std::error_code ec;
  if (std::filesystem::exists(journal, ec)) {
    JournalRecovery found;
    std::optional<SweepIdentity> identity;
    std::optional<SweepConfig> config;
    try {
      found = Journal::read(journal);
      identity.emplace(SweepIdentity::parse(found.config));
      config.emplace(parse_config(identity->config, journal + " (stored config)", {}));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "icl-sweep: --status %s: %s\n", output.c_str(), e.what());
      return 2;
    }
    const Grid grid(*config);
    Summary s;
    s.keep_times = true;
    s.rows_total = grid.rows();
    s.runs_total = grid.runs();
    std::vector<char> seen(grid.runs(), 0);
    for (const TaskResult& r : found.records) {
      if (r.train_id >= grid.runs() || seen[r.train_id] || r.rows.size() != grid.conditions_per_run()) continue;
      seen[r.train_id] = 1;
      ++s.runs_done;
      Summary::Run run{-INFINITY, grid.cost_estimate(r.train_id), 0.0, r.rows.front().rank};
      for (const ResultRow& row : r.rows) {
        count(s, row);
        if (std::isfinite(row.finished_unix)) run.time = std::max(run.time, row.finished_unix);
        if (std::isfinite(row.seconds)) run.seconds += row.seconds;
      }
      if (std::isfinite(run.time)) s.runs.push_back(run);
    }
    for (std::uint64_t id = 0; id < grid.runs(); ++id)
      if (!seen[id]) s.cost_left += grid.cost_estimate(id);
    const auto pid = lock_holder(journal);
    std::string what = output + ": " +
                       (pid ? "running (icl-sweep, pid " + std::to_string(*pid) + " on this node)"
                            : std::string("not complete, no writer on this node (stopped, or running on another node)"));
    for (const JournalRecovery::Gap& gap : found.gaps)
      what += "\njournal: " + std::to_string(gap.length) + " bytes at byte " + std::to_string(gap.offset) +
              (gap.foreign_records > 0 ? " hold " + std::to_string(gap.foreign_records) +
                                             " record(s) of another sweep (--resume recomputes their runs)"
               : gap.at_end            ? std::string(" being written or torn")
                                       : std::string(" damaged (--resume recomputes their runs)"));
    print(what, s, false);
    if (!snapshot.empty()) {
      try {
        write_snapshot(snapshot, *identity, grid, config->flow.trajectory_points, found.records);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "icl-sweep: --export %s: %s\n", snapshot.c_str(), e.what());
        return 2;
      }
      std::printf("exported %llu rows to %s (marked not complete: icl_sweep.load(..., partial=True))\n",
                  static_cast<unsigned long long>(s.rows_done), snapshot.c_str());
    }
    return 0;
  }
  if (!std::filesystem::exists(output, ec)) {
    std::fprintf(stderr, "icl-sweep: --status %s: neither the file nor its journal exists\n", output.c_str());
    return 2;
  }
  try {
    const ResultsFile file = ResultsFile::open(output, false);
    const FileAttributes a = file.read_attributes();
    Summary s;
    s.keep_times = a.completed != 1;
    s.rows_total = a.rows_total;
    constexpr std::uint64_t kBlock = 1 << 16;
    for (std::uint64_t first = 0; first < a.rows_total; first += kBlock)
      for (const ResultRow& row : file.read_rows(first, std::min(kBlock, a.rows_total - first))) count(s, row);
    s.runs_total = Grid(parse_config(a.config, output + " (stored config)", {})).runs();
    s.runs_done = a.completed == 1 ? s.runs_total : 0;
    // Marked complete with rows not done: no result (--resume, --extend and merge refuse it).
    const bool broken = a.completed == 1 && s.rows_done != s.rows_total;
    print(output + (broken ? ": marked complete, but " + std::to_string(s.rows_total - s.rows_done) +
                                 " rows are not done (done is not 1, or no status): not a result"
                    : a.completed == 1 ? ": complete"
                                       : ": not complete, and no journal (not a sweep's output in progress)"),
          s, a.completed == 1 && !broken);
    if (!snapshot.empty()) std::printf("nothing exported: %s itself is readable\n", output.c_str());
    return broken ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "icl-sweep: --status %s: %s\n", output.c_str(), e.what());
    return 2;
  }
}

}  // namespace icl
