// Training throughput of the sampled models, against bench/torch_reference.py (the same models in
// PyTorch from Python, same thread count and batch). Run: build/bench/models_bench
//   LSA: prompts per second (d = 5, N = 20, batch 64, Adam); GPT-2: tokens per second
//   (gpt2(3, 2, 64), d = 5, N = 20, batch 64, Adam), one thread.
#include <benchmark/benchmark.h>

#include "covariance.hpp"
#include "population_loss.hpp"
#include "sampled_training.hpp"

namespace {

using namespace icl;

void train(benchmark::State& state, const std::string& model, double tokens_per_prompt) {
  constexpr int d = 5, n = 20, batch = 64;
  const Covariance covariance = make_covariance("isotropic", d);
  const PopulationLoss loss = make_population_loss(covariance, n);
  SampledSetup setup;
  setup.model = parse_model(model);
  setup.covariance = &covariance;
  setup.loss = &loss;
  setup.d = d;
  setup.n_train = n;
  setup.max_test_m = n;
  setup.trajectory_points = 8;
  setup.options.batch = batch;
  setup.options.steps = state.range(0);
  setup.options.lr = 1e-3;
  for (auto _ : state) {
    const SampledOutcome out = train_sampled(setup);
    benchmark::DoNotOptimize(out.loss_final);
  }
  const double prompts = static_cast<double>(state.iterations()) * static_cast<double>(setup.options.steps) * batch;
  state.counters["prompts/s"] = benchmark::Counter(prompts, benchmark::Counter::kIsRate);
  state.counters["tokens/s"] = benchmark::Counter(prompts * tokens_per_prompt, benchmark::Counter::kIsRate);
}

void BM_TrainLsa(benchmark::State& state) { train(state, "lsa", 21.0); }
void BM_TrainGpt2(benchmark::State& state) { train(state, "gpt2(3, 2, 64)", 41.0); }

BENCHMARK(BM_TrainLsa)->Arg(2000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TrainGpt2)->Arg(50)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
