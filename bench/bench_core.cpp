// Benchmarks of the numerical core. Run: build/bench/core_bench (see README, "Performance").
#include <benchmark/benchmark.h>

#include <vector>

#include "covariance.hpp"
#include "gradient_flow.hpp"
#include "least_squares.hpp"
#include "monte_carlo.hpp"
#include "population_loss.hpp"
#include "random_stream.hpp"
#include "shifts.hpp"
#include "theory.hpp"

namespace {

using namespace icl;

// A stiff case: geometric(100), d = 10, N = 80, sigma = 0.01, tol 1e-8 (stiffness ratio near 1e6).
void BM_TrainStiff(benchmark::State& state) {
  const auto integrator = static_cast<Integrator>(state.range(0));
  const PopulationLoss loss = make_population_loss(make_covariance("geometric(100)", 10), 80);
  Stream stream{1, 2};
  const Eigen::MatrixXd gram = initial_gram(10, stream);
  FlowOptions options;
  options.integrator = integrator;
  FlowResult r;
  for (auto _ : state) {
    r = gradient_flow(loss, 0.01, gram, options);
    benchmark::DoNotOptimize(r.A.data());
  }
  state.SetLabel(std::string(to_string(integrator)) + " " + std::string(to_string(r.status)));
  state.counters["steps"] = static_cast<double>(r.steps);
  state.counters["rel_err"] = r.rel_err;
  state.counters["flow_time"] = r.time;
}
BENCHMARK(BM_TrainStiff)->Arg(int(Integrator::rosenbrock))->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TrainStiff)->Arg(int(Integrator::rk45))->Arg(int(Integrator::euler))
    ->Unit(benchmark::kMillisecond)->Iterations(1);

// The Monte-Carlo evaluation compared with bench/numpy_mc_reference.py: d = 20, M = N = 40,
// isotropic, no shift, 10000 prompts, every predictor.
void BM_MonteCarlo(benchmark::State& state) {
  const int d = static_cast<int>(state.range(0));
  const int m = static_cast<int>(state.range(1));
  const Covariance cov = make_covariance("isotropic", d);
  const PopulationLoss loss = make_population_loss(cov, 40);
  Stream stream{3};
  const TestDistribution dist = make_test_distribution(expand_shift("none")[0], cov, m, stream);
  LsaPredictors lsa{loss.optimum_matrix(), loss.optimum_matrix(), loss.one_step_eta(), {}, {}};
  lsa.trained.array() += 1e-9;
  McSettings settings;
  settings.prompts = 10000;
  settings.target_rel_se = 0.0;  // exactly settings.prompts
  for (auto _ : state) {
    const McRisks r = monte_carlo(dist, lsa, settings, StreamKey{1, 2, 3});
    benchmark::DoNotOptimize(r[Predictor::model].mean);
  }
  state.counters["prompts_per_second"] =
      benchmark::Counter(double(settings.prompts), benchmark::Counter::kIsIterationInvariantRate);
  // The work of one prompt on the conditional path (docs/theory.md §9), no label noise, M >= d:
  // the Gram matrix (rank-M update), two Cholesky factorisations, Sigma^2 (a rank-d update) and
  // its inner products with H^T H and H^T F^T for the model and A*, the ridge solve with d
  // right-hand sides (two triangular solves), a dozen
  // O(d^2) norms and traces, y = X w, and k-NN's distances; for M < d the d x M forms (docs/theory.md
  // §9): Q = F^T X^T, Q K^-1 (two triangular solves), H X^T for the model and A*, for each of the
  // five predictors but OLS D^T D (a rank-d update of M x M) and its product with K, the ridge
  // solve, and O(d M) norms. bench/perf_table.py sets this against Eigen's GEMM rate and the
  // normals' rate (BM_Normals) for the machine's limit.
  const double dd = d, mm = m;
  const double flops = m >= d ? mm * dd * (dd + 1) + 2 * dd * dd * dd / 3 + dd * dd * (dd + 1) + 2 * 3 * dd * dd +
                                    2 * dd * dd * dd + 12 * dd * dd + 2 * mm * dd + 3 * mm * dd
                              : dd * mm * (mm + 1) + 2 * mm * mm * mm / 3 + mm * dd + 2 * mm * mm * dd +
                                    2 * 2 * dd * dd * mm + 5 * (mm * (mm + 1) * dd + 2 * mm * mm) + 2 * mm * mm * dd +
                                    12 * dd * mm + 12 * dd * dd + 5 * mm * dd;
  state.counters["flops_per_prompt"] = flops;
  state.counters["normals_per_prompt"] = mm * dd + 2 * dd;
  state.counters["GFLOPS"] =
      benchmark::Counter(flops * settings.prompts * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_MonteCarlo)->Args({20, 40})->Args({20, 10})->Unit(benchmark::kMillisecond);

// Ridge over four lambdas (eval.ridge_lambda = 0.01, 0.1, 1, 10), d = 20, M = 40, 2000 prompts
// and k-NN: one pass (monte_carlo_each: a factorisation per lambda, the other predictors once;
// arg 1) against a pass per lambda, as each condition was evaluated before (arg 0). Both give
// the same estimates, bitwise (MonteCarlo.RidgeAndKnnListsInOnePassMatchEachPairAlone).
void BM_RidgeLambdas(benchmark::State& state) {
  const bool one_pass = state.range(0) == 1;
  const int d = 20, m = 40;
  const Covariance cov = make_covariance("power(1)", d);
  const PopulationLoss loss = make_population_loss(cov, 40);
  Stream stream{3};
  const TestDistribution dist = make_test_distribution(expand_shift("label_noise(0.5)")[0], cov, m, stream);
  LsaPredictors lsa{loss.optimum_matrix(), loss.optimum_matrix(), loss.one_step_eta(), {}, {}};
  McSettings settings;
  settings.prompts = 2000;
  settings.target_rel_se = 0.0;  // exactly settings.prompts
  settings.ridge_lambdas = {0.01, 0.1, 1.0, 10.0};
  for (auto _ : state) {
    if (one_pass) {
      benchmark::DoNotOptimize(monte_carlo_each(dist, lsa, settings, StreamKey{1, 2, 3}).back()[Predictor::ridge].mean);
    } else {
      for (const double lambda : settings.ridge_lambdas) {
        McSettings alone = settings;
        alone.ridge_lambdas = {lambda};
        benchmark::DoNotOptimize(monte_carlo(dist, lsa, alone, StreamKey{1, 2, 3})[Predictor::ridge].mean);
      }
    }
  }
  state.SetLabel(one_pass ? "one pass" : "a pass per lambda");
}
BENCHMARK(BM_RidgeLambdas)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// The OLS + ridge kernel alone on prompt-sized designs, in GFLOP/s (counted flops).
void BM_LeastSquares(benchmark::State& state) {
  const int d = static_cast<int>(state.range(0));
  const int m = static_cast<int>(state.range(1));
  Stream stream{4};
  Eigen::MatrixXd X(m, d);
  Eigen::VectorXd y(m), w1(d), w2(d);
  for (Eigen::Index i = 0; i < X.size(); ++i) X.data()[i] = stream.normal();
  for (int i = 0; i < m; ++i) y[i] = stream.normal();
  LeastSquares ls(m, d, 0.1);
  for (auto _ : state) {
    ls.factor(X);
    ls.pseudo_inverse(X, y, w1);
    ls.ridge(X, y, w2);
    benchmark::DoNotOptimize(w1.data());
    benchmark::DoNotOptimize(w2.data());
  }
  state.counters["GFLOPS"] = benchmark::Counter(ls.flops() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_LeastSquares)->Args({20, 40})->Args({20, 10})->Args({100, 200});

// Standard normals from one stream in a plain loop, one prompt's worth (860) per iteration:
// the rate the evaluation's draws could reach.
void BM_Normals(benchmark::State& state) {
  Stream stream{5};
  std::vector<double> out(860);
  for (auto _ : state) {
    for (double& x : out) x = stream.normal();
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["normals_per_second"] =
      benchmark::Counter(double(out.size()), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Normals);

// Eigen's GEMM on square matrices: the machine's attainable rate for this build.
void BM_EigenGemm(benchmark::State& state) {
  const auto n = state.range(0);
  const double flops = 2.0 * double(n) * double(n) * double(n);
  const Eigen::MatrixXd a = Eigen::MatrixXd::Random(n, n);
  const Eigen::MatrixXd b = Eigen::MatrixXd::Random(n, n);
  Eigen::MatrixXd c(n, n);
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOPS"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_EigenGemm)->Arg(20)->Arg(40)->Arg(256);

}  // namespace

BENCHMARK_MAIN();
