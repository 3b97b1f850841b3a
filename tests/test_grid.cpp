// The grid: its sizes, the order of runs and conditions, the keys the random streams hang off,
// and the cost estimate.
#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "task/grid.hpp"
#include "schedule/dispatch.hpp"
#include "config/sweep_config.hpp"

namespace {

using icl::Condition;
using icl::Grid;
using icl::SweepConfig;
using icl::TrainingRun;

// 2 x 2 x 2 x 1 x 2 runs; m_test {n, 32} x three shifts = 6 conditions per run.
std::string ini(const std::string& d = "2, 4", const std::string& seed = "1") {
  return "[sweep]\nseed = " + seed + "\n[grid]\nd = " + d +
         "\nn_train = 8, 16\nspectrum = isotropic, power(1)\nsigma = 0.1\ninit_seed = 0, 3\n"
         "[eval]\nm_test = n, 32\nshift = none, covariate_scale(0.5, 2)\n";
}

SweepConfig parse(const std::string& text) { return icl::parse_config(text, "test.ini", {}); }

bool same_params(const TrainingRun& a, const TrainingRun& b) {
  return a.d == b.d && a.n_train == b.n_train && a.spectrum == b.spectrum && a.sigma == b.sigma &&
         a.init_seed == b.init_seed;
}

TEST(Grid, Sizes) {
  const SweepConfig config = parse(ini());
  const Grid grid(config);
  EXPECT_EQ(grid.runs(), 16u);
  EXPECT_EQ(grid.conditions_per_run(), 6u);
  EXPECT_EQ(grid.rows(), 96u);

  const SweepConfig wider = parse(ini("2, 3, 4"));
  EXPECT_EQ(Grid(wider).runs(), 24u);
  EXPECT_EQ(Grid(wider).rows(), 144u);
}

TEST(Grid, RunOrderIsLexicographicWithInitSeedFastest) {
  const SweepConfig config = parse(ini());
  const Grid grid(config);
  std::uint64_t id = 0;
  for (const int d : {2, 4})
    for (const int n : {8, 16})
      for (const std::string spectrum : {"isotropic", "power(1)"})
        for (const double sigma : {0.1})
          for (const int seed : {0, 3}) {
            SCOPED_TRACE("train_id " + std::to_string(id));
            const TrainingRun r = grid.run(id++);
            EXPECT_EQ(r.d, d);
            EXPECT_EQ(r.n_train, n);
            EXPECT_EQ(r.spectrum, spectrum);
            EXPECT_EQ(r.sigma, sigma);
            EXPECT_EQ(r.init_seed, seed);
          }
  EXPECT_EQ(id, grid.runs());
}

TEST(Grid, ConditionOrderHasShiftFastestAndResolvesN) {
  const SweepConfig config = parse(ini());
  const Grid grid(config);
  const std::vector<std::string> shifts = {"none", "covariate_scale(0.5)", "covariate_scale(2)"};
  for (const std::uint64_t id : {std::uint64_t{0}, std::uint64_t{5}, std::uint64_t{15}}) {
    const TrainingRun run = grid.run(id);
    std::uint64_t index = 0;
    for (const int m : {run.n_train, 32})
      for (const auto& shift : shifts) {
        SCOPED_TRACE("train_id " + std::to_string(id) + ", condition " + std::to_string(index));
        const Condition c = grid.condition(run, index++);
        EXPECT_EQ(c.m, m);
        EXPECT_EQ(c.shift.text, shift);
      }
    EXPECT_EQ(index, grid.conditions_per_run());
  }
  // `n` is the run's own n_train: 8 for run 0, 16 for run 4.
  EXPECT_EQ(grid.condition(grid.run(0), 0).m, 8);
  EXPECT_EQ(grid.condition(grid.run(4), 0).m, 16);
  EXPECT_EQ(grid.condition(grid.run(4), 2).shift.kind, icl::ShiftKind::covariate_scale);
  EXPECT_EQ(grid.condition(grid.run(4), 2).shift.param, 2.0);
}

TEST(Grid, RidgeLambdaIsTheFastestConditionAxisOnTheSamePrompts) {
  const SweepConfig config = parse(ini() + "ridge_lambda = 0.01, 1\n");
  const Grid grid(config);
  EXPECT_EQ(grid.conditions_per_run(), 2u * 3u * 2u);
  const TrainingRun run = grid.run(3);
  for (std::uint64_t index = 0; index < grid.conditions_per_run(); index += 2) {
    const Condition a = grid.condition(run, index), b = grid.condition(run, index + 1);
    EXPECT_EQ(a.ridge_lambda, 0.01);
    EXPECT_EQ(b.ridge_lambda, 1.0);
    EXPECT_EQ(a.shift.text, b.shift.text);
    EXPECT_EQ(a.m, b.m);
    EXPECT_EQ(a.key, b.key);  // lambda is not in the prompts' key: paired comparisons
  }
  // Without the list, the rows are those of a grid without the axis, keys included.
  const SweepConfig plain_config = parse(ini());
  const Grid plain(plain_config);
  EXPECT_EQ(plain.condition(plain.run(3), 4).key, grid.condition(run, 8).key);
}

TEST(Grid, TrainingKeysAreDistinctAndDependOnlyOnParameters) {
  const SweepConfig config = parse(ini());
  const Grid grid(config);
  std::set<std::uint64_t> keys;
  for (std::uint64_t id = 0; id < grid.runs(); ++id) keys.insert(grid.run(id).train_key);
  EXPECT_EQ(keys.size(), grid.runs());

  // An extra d (and another sweep seed) moves the runs to other train_ids, not other keys.
  const SweepConfig wider_config = parse(ini("2, 3, 4", "99"));
  const Grid wider(wider_config);
  int matched = 0, moved = 0;
  for (std::uint64_t id = 0; id < grid.runs(); ++id) {
    const TrainingRun r = grid.run(id);
    for (std::uint64_t w = 0; w < wider.runs(); ++w) {
      const TrainingRun s = wider.run(w);
      if (same_params(r, s)) {
        EXPECT_EQ(s.train_key, r.train_key) << "train_id " << id << " vs " << w;
        ++matched;
        moved += w != id;
      } else {
        EXPECT_NE(s.train_key, r.train_key) << "train_id " << id << " vs " << w;
      }
    }
  }
  EXPECT_EQ(matched, 16);
  EXPECT_EQ(moved, 8);  // the d = 4 runs sit 8 places later
}

TEST(Grid, ConditionKeysDependOnlyOnMAndShift) {
  const SweepConfig config = parse(ini());
  const Grid grid(config);
  // The same (m, shift) under two different runs: d, n_train, spectrum, init_seed all differ.
  const TrainingRun a = grid.run(0), b = grid.run(15);
  ASSERT_NE(a.n_train, b.n_train);
  for (std::uint64_t c = 3; c < 6; ++c)  // m = 32
    EXPECT_EQ(grid.condition(a, c).key, grid.condition(b, c).key);
  // `n` gives each run its own m, hence its own keys.
  for (std::uint64_t c = 0; c < 3; ++c) EXPECT_NE(grid.condition(a, c).key, grid.condition(b, c).key);
  std::set<std::uint64_t> keys;
  for (std::uint64_t c = 0; c < 6; ++c) keys.insert(grid.condition(a, c).key);
  EXPECT_EQ(keys.size(), 6u);

  // m = 8 written out equals `n` resolved to 8; the shift's text, not its position, counts.
  const SweepConfig other_config =
      parse("[grid]\nd = 7\nn_train = 30\n[eval]\nm_test = 8\nshift = covariate_scale(2), none\n");
  const Grid other(other_config);
  const TrainingRun o = other.run(0);
  EXPECT_EQ(other.condition(o, 1).key, grid.condition(a, 0).key);  // (8, none)
  EXPECT_EQ(other.condition(o, 0).key, grid.condition(a, 2).key);  // (8, covariate_scale(2))
}

// The test prompts hang off (covariance key, condition key): the test law. A shift whose law is
// made from the training covariance keys it by d and the training spectrum; one with its own
// covariance by d alone, so that models trained on other spectra (or N, sigma, init_seed, model,
// lr, steps) see the same prompts there.
TEST(Grid, TestPromptsAreKeyedByTheTestLaw) {
  const SweepConfig config = parse(
      "[grid]\nd = 3, 4\nn_train = 8, 16\nspectrum = isotropic, power(1), random_exp\nsigma = 0.1, 0.5\n"
      "init_seed = 0, 1\n[eval]\nm_test = 10\nshift = none, covariate_scale(2), covariate_random(1, 4), "
      "covariate_isotropic, covariate_skewed\n");
  const Grid grid(config);
  ASSERT_EQ(grid.conditions_per_run(), 6u);
  const auto own = [](const Condition& c) {
    return c.shift.text.starts_with("covariate_random") || c.shift.text == "covariate_isotropic" ||
           c.shift.text == "covariate_skewed";
  };
  int shared = 0, separate = 0;
  for (std::uint64_t a = 0; a < grid.runs(); ++a)
    for (std::uint64_t b = 0; b < grid.runs(); ++b) {
      const TrainingRun ra = grid.run(a), rb = grid.run(b);
      for (std::uint64_t c = 0; c < grid.conditions_per_run(); ++c) {
        const Condition ca = grid.condition(ra, c), cb = grid.condition(rb, c);
        EXPECT_EQ(ca.key, cb.key);  // (M, shift): the same at every run (m_test is a number here)
        const bool same_law = ra.d == rb.d && (own(ca) || ra.spectrum == rb.spectrum);
        EXPECT_EQ(ca.covariance_key == cb.covariance_key, same_law)
            << ra.d << " " << ra.spectrum << " / " << rb.d << " " << rb.spectrum << ": " << ca.shift.text;
        if (a != b && same_law && ra.spectrum != rb.spectrum) ++shared;
        if (!same_law) ++separate;
      }
    }
  EXPECT_GT(shared, 0);
  EXPECT_GT(separate, 0);
  // The two covariate_random conditions (c = 1 and c = 4) differ in their condition key.
  const TrainingRun r = grid.run(0);
  EXPECT_NE(grid.condition(r, 2).key, grid.condition(r, 3).key);
}

// A fixed prompt count: a prompt costs more at larger d (with a target, fewer prompts may do).
TEST(Grid, CostEstimateIsPositiveAndGrowsWithD) {
  const SweepConfig config = parse(ini() + "target_rel_se = 0\n");
  const Grid grid(config);
  for (std::uint64_t id = 0; id < grid.runs(); ++id) EXPECT_GT(grid.cost_estimate(id), 0.0) << id;
  // Runs 0..7 have d = 2, runs 8..15 the same parameters with d = 4.
  for (std::uint64_t id = 0; id < 8; ++id) {
    ASSERT_TRUE(grid.run(id).d == 2 && grid.run(id + 8).d == 4);
    EXPECT_GT(grid.cost_estimate(id + 8), grid.cost_estimate(id)) << id;
  }
  // And across a wider range of d, with everything else fixed.
  const SweepConfig wide_config = parse("[grid]\nd = 5, 20, 80\nn_train = 40\n[eval]\ntarget_rel_se = 0\n");
  const Grid wide(wide_config);
  EXPECT_LT(wide.cost_estimate(0), wide.cost_estimate(1));
  EXPECT_LT(wide.cost_estimate(1), wide.cost_estimate(2));
}

// The per-run estimates (decoded from the run index) add up to the factorised total of
// --dry-run, per model too, and a GPT-2 run costs more with more steps.
TEST(Grid, CostEstimatesAddUpToTheTotal) {
  const SweepConfig config = parse("[grid]\nd = 3, 5\nn_train = 8, 16\nspectrum = isotropic, power(1)\n"
                                   "model = flow, lsa, gpt2(1, 2, 8)\n[train]\nlr = 0.1, 0.01\nsteps = 10, 300\n"
                                   "[eval]\nm_test = n, 4\nshift = none, covariate_scale(2)\n");
  const Grid grid(config);
  double sum = 0.0, gpt2 = 0.0, longest = 0.0;
  for (std::uint64_t id = 0; id < grid.runs(); ++id) {
    const double cost = grid.cost_estimate(id);
    sum += cost;
    longest = std::max(longest, cost);
    if (grid.run(id).model.text == "gpt2(1, 2, 8)") gpt2 += cost;
    if (grid.run(id).model.sampled() && grid.run(id).steps == 10) {
      EXPECT_LT(cost, grid.cost_estimate(id + 1)) << id;  // the same run with 300 steps
    }
  }
  EXPECT_NEAR(grid.total_cost_estimate(), sum + icl::kModelsLibraryLoadSeconds, 1e-12 * sum);  // a gpt2 among them
  EXPECT_NEAR(grid.total_cost_estimate(&config.model[2]), gpt2, 1e-12 * gpt2);
  EXPECT_EQ(grid.longest_run_estimate(), longest);
}

// With a precision target (the default) the cost model expects v / tau^2 prompts a condition
// between the first check and the cap (docs/theory.md §9): more at short prompts, for spread
// spectra and for plainly sampled queries, four times as many for half the target; exactly
// eval.mc_prompts without a target.
TEST(Grid, ExpectedPromptsFollowTheTarget) {
  const auto expected = [](const std::string& grid_eval, const std::string& extra = "") {
    const SweepConfig config = parse("[grid]\nd = 20\nn_train = 40\n" + grid_eval + extra);
    return Grid(config).expected_prompts_mean();
  };
  const std::string iso40 = "spectrum = isotropic\n[eval]\nm_test = 40\n";
  const double base = expected(iso40);
  // v = (0.3 + 8.5/40) / 20, times 1.0625 for the checks' spacing, at tau = 1%.
  EXPECT_NEAR(base, 1.0625 * (0.3 + 8.5 / 40.0) / 20.0 / 1e-4, 1e-9 * base);
  EXPECT_NEAR(expected(iso40, "target_rel_se = 0.005\n"), 4.0 * base, 1e-9 * base);
  EXPECT_EQ(expected(iso40, "target_rel_se = 0\n"), icl::McSettings{}.prompts);
  EXPECT_EQ(expected(iso40, "target_rel_se = 0.5\n"), static_cast<double>(icl::kTargetFirstCheck));
  EXPECT_EQ(expected(iso40, "target_rel_se = 0.0001\n"), icl::McSettings{}.prompts);  // the cap
  EXPECT_GT(expected("spectrum = isotropic\n[eval]\nm_test = 10\n"), base);
  EXPECT_GT(expected("spectrum = power(1)\n[eval]\nm_test = 40\n"), 5.0 * base);
  // orthogonal_query samples every estimate plainly where it is defined (M < d), and draws
  // nothing where it is not.
  EXPECT_EQ(expected("[eval]\nm_test = 10\nshift = orthogonal_query\n"), icl::McSettings{}.prompts);
  EXPECT_EQ(expected("[eval]\nm_test = 10, 40\nshift = orthogonal_query\n"), icl::McSettings{}.prompts);
  // Waiting for k-NN samples plainly too, and costs more than the default that does not.
  const SweepConfig plain = parse("[grid]\nd = 20\nn_train = 40\n" + iso40 + "target_predictors = model, knn\n");
  const SweepConfig waits = parse("[grid]\nd = 20\nn_train = 40\n" + iso40);
  EXPECT_EQ(Grid(plain).expected_prompts_mean(), icl::McSettings{}.prompts);
  EXPECT_GT(Grid(plain).total_cost_estimate(), 5.0 * Grid(waits).total_cost_estimate());
}

// Batches (schedule/dispatch.hpp): runs are handed out in the cost model's order, as many as fit the
// per-message budget, never more than a 1/(kBatchBalance ranks) share of the work left, always one.
TEST(Scheduler, BatchesFillTheMessageBudgetAndShrinkAtTheTail) {
  using icl::batch_runs;
  const auto each = [](double s) { return [s](std::size_t) { return s; }; };
  EXPECT_EQ(batch_runs(0, each(1e-3), 1.0, 4), 0u);
  // 1 ms runs, plenty of work: kBatchSeconds / 1 ms = 50 runs a message.
  EXPECT_EQ(batch_runs(100000, each(1e-3), 100.0, 4), static_cast<std::size_t>(icl::kBatchSeconds / 1e-3 + 0.5));
  // At 10^4 ranks a message carries 10^4 x kBatchSecondsPerRank = 2 s of runs.
  EXPECT_EQ(batch_runs(10000000, each(1e-3), 1e5, 10000), 2000u);
  // Near the end: 0.1 s left on 4 ranks -> at most 0.1 / 16 s per batch.
  EXPECT_EQ(batch_runs(100, each(1e-3), 0.1, 4), 6u);
  // A run longer than the budget still goes, alone.
  EXPECT_EQ(batch_runs(10, each(60.0), 600.0, 4), 1u);
  // Costliest first: a batch stops at the first run that would exceed the budget.
  const std::vector<double> costs = {0.03, 0.015, 0.004, 0.002, 0.001};
  EXPECT_EQ(batch_runs(costs.size(), [&](std::size_t i) { return costs[i]; }, 100.0, 2), 3u);
  // Never more than kMaxBatch runs in one message.
  EXPECT_EQ(batch_runs(10000000, each(1e-9), 1e5, 4), icl::kMaxBatch);
}

}  // namespace
