// The scheduler alone, driven by a fake task function, on 1 to 3 ranks (ctest runs this binary
// alone and under mpiexec -n 2 and -n 3): every run handed out once and its result delivered
// once, bitwise, to the hooks, every rank taking part; the dispatch's order and batches; the stop
// rules; a run cancelled half-way stops the sweep with what was finished kept. The suite
// Stopping stops the process's sweep for good (a stop cannot be taken back), so it stays last.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "schedule/dispatch.hpp"
#include "schedule/mpi_session.hpp"
#include "schedule/scheduler.hpp"
#include "schedule/stop_rules.hpp"
#include "schedule/stop_signals.hpp"

namespace {

using namespace icl;
using Clock = std::chrono::steady_clock;

int g_rank = 0, g_size = 1;
constexpr std::uint64_t kRowsPerRun = 3;

// A run's result, every field a function of (id, rank), so that its transport can be checked.
TaskResult fake_result(std::uint64_t id, int rank) {
  TaskResult r;
  r.train_id = id;
  r.rows.assign(kRowsPerRun, blank_row());
  for (std::uint64_t j = 0; j < kRowsPerRun; ++j) {
    ResultRow& row = r.rows[j];
    row.row = id * kRowsPerRun + j;
    row.train_id = id;
    row.done = 1;
    row.rank = rank;
    row.m_test = static_cast<std::int32_t>(7 * id + j);
    icl::risk_column(row, "risk_model_mc") = 1.0 / static_cast<double>(id + j + 1);
    row.seconds = 1e-4;
  }
  r.trajectory.assign(2, StoredSample{static_cast<double>(id), 0.5, 0.25, -1.0});
  return r;
}

bool same(const TaskResult& a, const TaskResult& b) {
  return a.train_id == b.train_id && a.rows.size() == b.rows.size() && a.trajectory.size() == b.trajectory.size() &&
         std::memcmp(a.rows.data(), b.rows.data(), a.rows.size() * sizeof(ResultRow)) == 0 &&
         std::memcmp(a.trajectory.data(), b.trajectory.data(), a.trajectory.size() * sizeof(StoredSample)) == 0;
}

Workload workload_of(std::vector<std::uint64_t> order) {
  Workload w;
  w.order = std::move(order);
  w.cost = [](std::uint64_t id) { return static_cast<double>(id + 1); };
  w.rows_per_run = kRowsPerRun;
  return w;
}

// Every rank waits for the others: a worker that left one test's work() early must not send its
// kReady to the coordinate() of that test, which is still running on rank 0.
void barrier() {
  if (mpi_running()) MPI_Barrier(MPI_COMM_WORLD);
}

void spin(std::chrono::microseconds length, const CancelCheck& cancelled = nullptr) {
  const auto until = Clock::now() + length;
  while (Clock::now() < until)
    if (cancelled && cancelled()) return;
}

TEST(Scheduler, RefusesToRunWithoutATaskFunction) {
  EXPECT_THROW(work(1, kRowsPerRun, RunFunction{}), std::invalid_argument);
  if (g_rank == 0) {
    EXPECT_THROW(coordinate(workload_of({0, 1}), RunFunction{}, 1, SchedulerHooks{}, SchedulerOptions{}),
                 std::invalid_argument);
  }
}

TEST(Dispatch, HandsOutInOrderOneRunUntilARateIsMeasured) {
  Dispatch dispatch(workload_of({5, 4, 3, 2, 1, 0}), true, std::nullopt);
  EXPECT_EQ(dispatch.take(), std::optional<std::uint64_t>(5));
  EXPECT_EQ(dispatch.take_batch(4), std::vector<std::uint64_t>{4});  // no rate yet: one run
  // A measured rate of 1e-4 s per cost unit: the rest (cost 10, 1e-3 s) fits one batch's
  // 0.05 s, but guided self-scheduling caps it at a quarter of the work left per rank.
  dispatch.finished(fake_result(5, 0));  // cost 6, 3 x 1e-4 s
  const std::vector<std::uint64_t> batch = dispatch.take_batch(1);
  EXPECT_EQ(batch, (std::vector<std::uint64_t>{3}));
  EXPECT_EQ(dispatch.take_batch(1).front(), 2u);
}

TEST(Dispatch, WithADeadlineTakesTheCostliestThatFitsElseTheCheapest) {
  // 1 cost unit = 1 s before any rate: ids cost 1..3 s.
  Dispatch dispatch(workload_of({2, 1, 0}), true, Clock::now() + std::chrono::milliseconds(1500));
  EXPECT_EQ(dispatch.take(), std::optional<std::uint64_t>(0));  // 3 s and 2 s do not fit 1.5 s; 1 s does
  EXPECT_EQ(dispatch.take(), std::nullopt);
}

// The cost model estimates every run as on a CPU core: the runs whose models train on a GPU get
// their seconds from the rate measured on GPU runs, the others from the CPU runs'.
TEST(CostRates, EachDeviceClassHasItsOwnRateAndBorrowsTheOthersUntilMeasured) {
  icl::CostRates rates;
  EXPECT_FALSE(rates.measured());
  EXPECT_EQ(rates.rate(0), 1.0);
  rates.add(1, 100.0, 2.0);
  EXPECT_TRUE(rates.measured());
  EXPECT_DOUBLE_EQ(rates.rate(1), 0.02);
  EXPECT_DOUBLE_EQ(rates.rate(0), 0.02);  // none measured on the CPU yet
  rates.add(0, 10.0, 5.0);
  EXPECT_DOUBLE_EQ(rates.rate(0), 0.5);
  EXPECT_DOUBLE_EQ(rates.rate(1), 0.02);
  EXPECT_DOUBLE_EQ(rates.seconds_done(), 7.0);
}

TEST(Dispatch, ADeadlineCountsGpuRunsAtTheGpuRate) {
  Workload w = workload_of({9, 8, 3, 2});  // costs 10, 9, 4, 3
  w.device_class = [](std::uint64_t id) { return id >= 7 ? 1 : 0; };
  Dispatch dispatch(w, true, Clock::now() + std::chrono::seconds(100));
  TaskResult cpu = fake_result(5, 0);  // class 0, cost 6, its rows 300 s: 50 s a unit
  for (ResultRow& row : cpu.rows) row.seconds = 100.0;
  dispatch.finished(cpu);
  dispatch.finished(fake_result(7, 0));  // class 1, cost 8, 3e-4 s
  // One rate for both (21 s a unit) would have the GPU runs take 190 s and more.
  EXPECT_EQ(dispatch.take(), std::optional<std::uint64_t>(9));
  EXPECT_EQ(dispatch.take(), std::optional<std::uint64_t>(8));
  EXPECT_EQ(dispatch.take(), std::nullopt);  // 200 s and 150 s on the CPU: neither fits
}

TEST(Scheduler, EveryRunOnceToTheHooksFromEveryRank) {
  std::vector<std::uint64_t> order;
  for (std::uint64_t id = 40; id-- > 0;) order.push_back(id);
  std::atomic<int> workers_seen{0};
  // Rank 0's own thread waits (at most a minute) until every other rank has delivered a result,
  // so that each takes part however loaded the machine.
  const RunFunction run = [&](std::uint64_t id, int rank, CancelCheck) {
    if (rank == 0) {
      const auto give_up = Clock::now() + std::chrono::seconds(60);
      while (workers_seen.load() < g_size - 1 && Clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    } else {
      spin(std::chrono::microseconds(500));
    }
    return fake_result(id, rank);
  };
  if (g_rank != 0) {
    work(g_rank, kRowsPerRun, run);
    barrier();
    return;
  }
  std::map<std::uint64_t, int> times;
  std::set<int> ranks_seen;
  bool intact = true;
  std::uint64_t ticks = 0;
  SchedulerHooks hooks;
  hooks.on_result = [&](TaskResult&& result) {
    ++times[result.train_id];
    const int rank = result.rows.front().rank;
    intact = intact && same(result, fake_result(result.train_id, rank));
    if (rank != 0 && ranks_seen.insert(rank).second) ++workers_seen;
    ranks_seen.insert(rank);
  };
  hooks.on_tick = [&](int busy) {
    ++ticks;
    EXPECT_GE(busy, 0);
    EXPECT_LE(busy, g_size);
  };
  const SweepOutcome outcome = coordinate(workload_of(order), run, g_size, hooks, SchedulerOptions{});
  barrier();
  EXPECT_EQ(outcome.end, SweepEnd::complete);
  EXPECT_TRUE(outcome.unanswered.empty());
  EXPECT_EQ(times.size(), order.size());
  for (const auto& [id, n] : times) EXPECT_EQ(n, 1) << "run " << id;
  EXPECT_TRUE(intact) << "a result arrived changed";
  EXPECT_EQ(static_cast<int>(ranks_seen.size()), g_size);
  EXPECT_EQ(outcome.load.rows, order.size() * kRowsPerRun);
  EXPECT_GE(outcome.load.messages, static_cast<std::uint64_t>(g_size - 1));
  EXPECT_GT(ticks, 0u);
}

TEST(StopRules, NothingUntilAStop) {
  StopRules rules(std::nullopt, 0.0);
  const StopRules::Verdict verdict = rules.check({0, 1, 1}, true);
  EXPECT_FALSE(verdict.cancel_busy);
  EXPECT_TRUE(verdict.unanswered.empty());
}

// Stops this process's sweep for good (a stop cannot be taken back): the last suite.
TEST(Stopping, ACancelledRunStopsTheSweepKeepingWhatFinished) {
  // Run 10 goes first and comes back cut short, as a run a stop reached does.
  std::vector<std::uint64_t> order{10};
  for (std::uint64_t id = 0; id < 30; ++id)
    if (id != 10) order.push_back(id);
  const RunFunction run = [&](std::uint64_t id, int rank, CancelCheck cancelled) {
    TaskResult result = fake_result(id, rank);
    spin(std::chrono::microseconds(2000), cancelled);
    if (id == 10 || (cancelled && cancelled())) result.rows.pop_back();
    return result;
  };
  if (g_rank != 0) {
    work(g_rank, kRowsPerRun, run);
    barrier();
    return;
  }
  std::set<std::uint64_t> delivered;
  SchedulerHooks hooks;
  hooks.on_result = [&](TaskResult&& result) {
    EXPECT_EQ(result.rows.size(), kRowsPerRun);
    EXPECT_TRUE(delivered.insert(result.train_id).second) << "run " << result.train_id << " twice";
  };
  hooks.on_tick = [](int) {};
  SchedulerOptions options;
  options.stop_grace_seconds = 120.0;
  const SweepOutcome outcome = coordinate(workload_of(order), run, g_size, hooks, options);
  barrier();
  EXPECT_EQ(outcome.end, SweepEnd::stopped);
  EXPECT_EQ(delivered.count(10), 0u);
  EXPECT_LT(delivered.size(), order.size());
  EXPECT_EQ(stop_signal(), kStopFromAnotherRank);
}

TEST(Stopping, ADeadlineStopsThenBusyRanksAreGivenUpAfterTheGrace) {
  if (g_rank != 0) return;
  const bool stopped_before = stop_requested();  // by the test above, except where it is filtered out
  StopRules rules(Clock::now() - std::chrono::seconds(1), 0.05);
  StopRules::Verdict verdict = rules.check({0, 1, 0, 1}, true);
  EXPECT_TRUE(stop_requested());
  if (!stopped_before) {
    EXPECT_EQ(stop_signal(), kStopAtDeadline);
  }
  EXPECT_TRUE(verdict.cancel_busy);
  EXPECT_TRUE(verdict.unanswered.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  verdict = rules.check({0, 1, 0, 1}, true);
  EXPECT_FALSE(verdict.cancel_busy);  // said once
  EXPECT_EQ(verdict.unanswered, (std::vector<int>{0, 1, 3}));
}

}  // namespace

int main(int argc, char** argv) {
  icl::MpiSession mpi(argc, argv);
  g_rank = mpi.rank();
  g_size = mpi.size();
  ::testing::InitGoogleTest(&argc, argv);
  if (g_rank != 0) delete ::testing::UnitTest::GetInstance()->listeners().Release(
      ::testing::UnitTest::GetInstance()->listeners().default_result_printer());
  return RUN_ALL_TESTS();
}
