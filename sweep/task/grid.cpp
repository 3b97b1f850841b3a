#include "task/grid.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <tuple>

#include "config/grid_axes.hpp"
#include "covariance.hpp"
#include "random_stream.hpp"

namespace icl {

Grid::Grid(const SweepConfig& config) : config_(config), sizes_(grid_sizes(config)) {
  // Exact in double: check_grid_size keeps runs <= 1e8 and rows <= 1e10.
  runs_ = static_cast<std::uint64_t>(grid_extent(config, AxisKind::run));
  conditions_ = static_cast<std::uint64_t>(grid_extent(config, AxisKind::condition));
  tabulate_costs();
}

TrainingRun Grid::run(std::uint64_t train_id) const {
  const AxisDigits at = grid_place(sizes_, AxisKind::run, train_id);
  TrainingRun r;
  r.d = config_.d[at[index_of(Axis::d)]];
  r.n_train = config_.n_train[at[index_of(Axis::n_train)]];
  r.spectrum = config_.spectrum[at[index_of(Axis::spectrum)]];
  r.sigma = config_.sigma[at[index_of(Axis::sigma)]];
  r.train_noise = config_.train_noise[at[index_of(Axis::train_noise)]];
  r.init_seed = config_.init_seed[at[index_of(Axis::init_seed)]];
  r.model = config_.model[at[index_of(Axis::model)]];
  r.lr = config_.lr[at[index_of(Axis::lr)]];
  r.steps = config_.steps[at[index_of(Axis::steps)]];
  r.optimizer = config_.optimizer[at[index_of(Axis::optimizer)]];
  r.batch = config_.batch[at[index_of(Axis::batch)]];
  r.schedule = config_.lr_schedule[at[index_of(Axis::lr_schedule)]];
  r.init = config_.init[at[index_of(Axis::init)]];
  char text[256];
  std::snprintf(text, sizeof text, "d=%d;n=%d;sigma=%.17g;init_seed=%d;spectrum=", r.d, r.n_train,
                r.sigma, r.init_seed);
  // A noisy training law is another law: its own prompts (noiseless runs keep the keys they had).
  char noise[64] = "";
  if (r.train_noise != 0.0) std::snprintf(noise, sizeof noise, ";train_noise=%.17g", r.train_noise);
  const std::uint64_t point = text_key(std::string(text) + r.spectrum + noise);
  std::snprintf(text, sizeof text, ";lr=%.17g;steps=%lld;model=", r.lr, static_cast<long long>(r.steps));
  r.train_key = text_key("point=" + std::to_string(point) + text + r.model.text);
  return r;
}

TrainOptions TrainingRun::options(const TrainOptions& base) const {
  TrainOptions o = base;
  o.lr = lr;
  o.steps = steps;
  o.optimizer = optimizer;
  o.batch = batch;
  o.schedule = schedule;
  parse_init(init, o);
  return o;
}

Condition Grid::condition(const TrainingRun& run, std::uint64_t index) const {
  const AxisDigits at = grid_place(sizes_, AxisKind::condition, index);
  Condition c;
  const int m = config_.m_test[at[index_of(Axis::m_test)]];
  c.m = m == 0 ? run.n_train : m;
  c.shift = config_.shift[at[index_of(Axis::shift)]];
  c.ridge_lambda = config_.ridge_lambda[at[index_of(Axis::ridge_lambda)]];
  c.knn_k = config_.knn_k[at[index_of(Axis::knn_k)]];
  c.covariance_key = text_key("d=" + std::to_string(run.d) +
                              (test_law_uses_training_covariance(c.shift) ? ";spectrum=" + run.spectrum : ""));
  c.key = text_key("m=" + std::to_string(c.m) + ";shift=" + c.shift.text);
  return c;
}

namespace {

// Rough single-core seconds; the constants are fitted to whole sweeps on the 2-core development
// machine (bench/cost_model.py checks the dry run against the real time, within 3x for each of
// its configs). Flow training: the reduced flow of d x d matrices, 1.4 ms a run at d = 10, 6 ms at
// d = 40, 20 ms at d = 80.
double flow_cost(double d) { return 1e-3 + 3e-6 * d * d; }

// A prompt's design, once for every condition that shares it (docs/theory.md §9, "Shared
// designs"): M d normals, the Gram matrix and two Cholesky factorisations, and where M >= d and an
// error is taken given the design, Sigma^2 and ridge's inverse (d x d products).
double design_cost(double m, double d, double prompts, bool conditional) {
  const double n = std::min(m, d);
  return prompts * (0.25e-9 * (m * n * n + n * n * n) + 3e-9 * m * d + (conditional && m >= d ? 0.25e-9 * d * d * d : 0.0));
}

// One condition on its designs: per Monte-Carlo prompt its own draws and products (2 d normals),
// below d its errors given the design (d x M forms; not where every estimate is `plain`,
// sampled), and 4 us of every predictor's own work; then the closed forms, a fixed 16 us and
// O(d^3) (46 us at d = 40). With the design: 7 us a prompt at d = 20, M = 40.
double condition_cost(double m, double d, double prompts, bool conditional) {
  const double prompt = 0.25e-9 * (8.0 * m * d + 4.0 * d * d) + 6e-9 * d + (conditional && m < d ? 0.4e-9 * d * d * d : 0.0) + 4e-6;
  return prompts * prompt + 1.6e-5 + 5e-10 * d * d * d;
}

// How many directions a prompt's error averages over, for the spread of conditional estimates:
// r = (sum lambda^2)^2 / sum lambda^4 of the training covariance (d where it is isotropic, about
// 2 for power(1)); 1 for the laws drawn per prompt and for covariance files (not factored here:
// a file's d may be large), whose errors are the most spread. Eigenvalues only: O(d).
double spread_dimension(const std::string& spectrum, int d, const InputFiles& inputs) {
  if (covariance_file(spectrum)) return 1.0;
  const Covariance c = covariance_spectrum(spectrum, d, inputs);
  if (c.random()) return 1.0;
  const double s2 = c.eigenvalues.squaredNorm(), s4 = c.eigenvalues.array().square().square().sum();
  return s4 > 0.0 ? s2 * s2 / s4 : 1.0;
}

// The prompts a condition is expected to draw: eval.mc_prompts without a precision target; with
// one, the count its slowest waited-for estimate needs, v / tau^2 with v the squared relative
// standard deviation of one prompt's error, from the first check to the cap, a sixteenth more
// for the checks' spacing (every eighth of the count: half that past the need, on average;
// docs/theory.md §9). v fitted to sweeps to 1% at d = 5 to 40, M = 5 to 160,
// isotropic and power(1) (bench/cost_model.py): (0.3 + 8.5/M) / r for conditional estimates (r
// from spread_dimension), 2.5 for plainly sampled ones (a sampled model or k-NN waited for, a
// query that depends on the prompt).
double expected_prompts(const McSettings& mc, double m, double r, bool plain) {
  const double cap = mc.prompts;
  if (mc.target_rel_se <= 0.0) return cap;
  const double v = plain ? 2.5 : (0.3 + 8.5 / m) / r;
  const double needed = 1.0625 * v / (mc.target_rel_se * mc.target_rel_se);
  return std::min(cap, std::max(static_cast<double>(kTargetFirstCheck), needed));
}

// One more ridge lambda of a prompt's design: a Cholesky factorisation of the min(M, d) Gram
// matrix, and its inverse (M >= d) or solves with d right-hand sides (below d).
double ridge_cost(double m, double d) {
  const double n = std::min(m, d);
  return 0.25e-9 * (n * n * n / 3.0 + 2.0 * n * n * d) + 1e-6;
}

// A sampled model's forward pass on one prompt of `points` points, in seconds: LSA layers are
// O(points d^2) per layer, GPT-2 about 2 flops per parameter and token plus attention (46 ms a
// step of gpt2(3, 2, 64) at d = 5, N = 20).
double forward_cost(const ModelSpec& m, double d, double points) {
  if (m.kind != ModelSpec::Kind::gpt2) return m.layers * points * (d + 1) * (d + 1) * 2e-10;
  const double w = m.width, tokens = 2.0 * points;
  const double parameters = 12.0 * m.layers * w * w;
  return (2.0 * parameters * tokens + 4.0 * m.layers * tokens * tokens * w) / 5.7e10;
}

// What an optimizer step costs beyond its arithmetic: libtorch's per-operation overhead, which is
// what small models spend their time on (0.27 ms a step of lsa at d = 5, 2.3 ms of
// linear_transformer(2), 2.4 ms of gpt2(1, 1, 8), 7.5 ms of gpt2(2, 2, 16)).
double step_overhead(const ModelSpec& m) {
  switch (m.kind) {
    case ModelSpec::Kind::lsa: return 2.5e-4;
    case ModelSpec::Kind::linear_transformer: return 1.1e-3 * m.layers;
    case ModelSpec::Kind::gpt2: return 1e-3 + 2.5e-3 * m.layers;
    case ModelSpec::Kind::flow: break;
  }
  return 0.0;
}

}  // namespace

std::int64_t Grid::parameters_per_run() const {
  std::int64_t most = 0;
  for (const ModelSpec& model : config_.model)
    for (const int d : config_.d) most = std::max(most, model.stored_parameters(d));
  return most;
}

int Grid::max_test_m(const TrainingRun& run) const {
  int longest = 0;
  for (const int m : config_.m_test) longest = std::max(longest, m == 0 ? run.n_train : m);
  return longest;
}

// A run's cost is fixed_ + steps x per_step_ of its (d, n_train, model, batch) class: the
// Monte-Carlo baselines and closed forms, the training (flow) or the model's evaluation (sampled),
// and the cost of one optimizer step (sampled models only).
void Grid::tabulate_costs() {
  const McSettings& mc = config_.mc;
  const bool knn_waited = mc.target_waits[index_of(Predictor::knn)] &&
                          std::any_of(config_.knn_k.begin(), config_.knn_k.end(), [](int k) { return k > 0; });
  double prompts_sum = 0.0, conditions = 0.0;
  // Per shift: whether its query depends on the prompt (every estimate then sampled plainly), and
  // whether it is defined at (M, d), asked once per distinct (shift, M, d).
  std::vector<bool> on_prompt;
  for (const Shift& shift : config_.shift) on_prompt.push_back(query_depends_on_prompt(shift));
  std::map<std::tuple<std::size_t, int, int>, bool> defined;
  const auto defined_here = [&](std::size_t s, int m, int d) {
    const auto [at, added] = defined.try_emplace({s, m, d}, false);
    if (added) at->second = defined_at(config_.shift[s], m, d);
    return at->second;
  };
  for (const int d : config_.d) {
    std::vector<double> spread;  // per spectrum
    if (mc.target_rel_se > 0.0)
      for (const std::string& spectrum : config_.spectrum) spread.push_back(spread_dimension(spectrum, d, config_.inputs));
    else
      spread.assign(config_.spectrum.size(), 1.0);
    for (const int n : config_.n_train)
      for (const ModelSpec& model : config_.model)
        for (const int batch : config_.batch) {
          double fixed = 0.0, per_step = 0.0;
          const bool model_plain = model.sampled() && mc.target_waits[index_of(Predictor::model)];
          for (const int m : config_.m_test) {
            const int prompt_length = m == 0 ? n : m;
            const double length = prompt_length;
            // The shifts that keep the covariates share one design per prompt, drawn while any of them
            // samples; the others draw their own.
            double kept_prompts = 0.0;
            bool kept_conditional = false;
            for (std::size_t s = 0; s < config_.shift.size(); ++s) {
              const Shift& shift = config_.shift[s];
              const bool plain = knn_waited || model_plain || on_prompt[s];
              // orthogonal_query is not defined for M >= d: no prompts. The spectra repeat the
              // class: its cost is their mean.
              if (!defined_here(s, prompt_length, d)) continue;
              double prompts = 0.0;
              for (const double r : spread) prompts += expected_prompts(mc, length, r, plain) / static_cast<double>(spread.size());
              prompts_sum += prompts;
              ++conditions;
              // The (lambda, k) pairs of one (M, shift) are one pass over the prompts (monte_carlo_each):
              // each further lambda its factorisation and inverse (with the design), each further k
              // its neighbours.
              const bool conditional = !on_prompt[s];
              fixed += condition_cost(length, d, prompts, conditional) +
                       prompts * static_cast<double>(config_.knn_k.size() - 1) * 2e-9 * length;
              const double design = design_cost(length, d, prompts, conditional) +
                                    prompts * static_cast<double>(config_.ridge_lambda.size() - 1) * ridge_cost(length, d);
              if (keeps_design(shift)) {
                kept_prompts = std::max(kept_prompts, prompts);
                kept_conditional = kept_conditional || conditional;
              } else {
                fixed += design;
              }
              if (model.sampled()) fixed += prompts * forward_cost(model, d, length + 1.0);
            }
            fixed += design_cost(length, d, kept_prompts, kept_conditional) +
                     kept_prompts * static_cast<double>(config_.ridge_lambda.size() - 1) * ridge_cost(length, d);
          }
          if (model.sampled())  // forward and backward (3 forwards) per prompt, and the step's overhead
            per_step = 3.0 * batch * forward_cost(model, d, n + 1.0) + step_overhead(model);
          else
            fixed += flow_cost(d);
          fixed_.push_back(fixed);
          per_step_.push_back(per_step);
        }
  }
  prompts_mean_ = conditions > 0.0 ? prompts_sum / conditions : 0.0;
}

double Grid::cost_estimate(std::uint64_t train_id) const {
  // The run's (d, n_train, model, batch) class, in tabulate_costs' order, and its steps.
  const AxisDigits at = grid_place(sizes_, AxisKind::run, train_id);
  const std::size_t c =
      ((at[index_of(Axis::d)] * config_.n_train.size() + at[index_of(Axis::n_train)]) * config_.model.size() +
       at[index_of(Axis::model)]) * config_.batch.size() +
      at[index_of(Axis::batch)];
  return fixed_[c] + static_cast<double>(config_.steps[at[index_of(Axis::steps)]]) * per_step_[c];
}

double Grid::total_cost_estimate(const ModelSpec* only) const {
  // Every axis but (d, n_train, model, batch, steps) repeats runs of the same cost.
  const double repeats =
      static_cast<double>(config_.spectrum.size() * config_.sigma.size() * config_.train_noise.size() * config_.init_seed.size() *
                          config_.lr.size() * config_.optimizer.size() * config_.lr_schedule.size() * config_.init.size());
  double all_steps = 0.0;
  for (const std::int64_t steps : config_.steps) all_steps += static_cast<double>(steps);
  double total = 0.0;
  for (std::size_t c = 0; c < fixed_.size(); ++c)
    if (!only || config_.model[(c / config_.batch.size()) % config_.model.size()].text == only->text)
      total += repeats * (fixed_[c] * static_cast<double>(config_.steps.size()) + per_step_[c] * all_steps);
  // Loading libtorch with the sampled models' library, once a process (0.6 s here).
  const bool sampled = std::any_of(config_.model.begin(), config_.model.end(), [](const ModelSpec& m) { return m.sampled(); });
  if (!only && sampled) total += kModelsLibraryLoadSeconds;
  return total;
}

double Grid::longest_run_estimate() const {
  const double most_steps = static_cast<double>(*std::max_element(config_.steps.begin(), config_.steps.end()));
  double longest = 0.0;
  for (std::size_t c = 0; c < fixed_.size(); ++c) longest = std::max(longest, fixed_[c] + most_steps * per_step_[c]);
  return longest;
}

static_assert([] {
  for (const GridAxis& axis : kGridAxes) {
    bool found = false;
    for (const Column& column : kColumns) found = found || column.name == axis.column;
    if (!found) return false;
  }
  return true;
}(), "every grid axis has its result column");

void set_grid_columns(ResultRow& row, const TrainingRun& run, const Condition& condition) {
  for (const GridAxis& axis : kGridAxes) {
    switch (axis.id) {  // no default: a new axis without its column here is a compiler warning
      case Axis::d: row.d = run.d; break;
      case Axis::n_train: row.n_train = run.n_train; break;
      case Axis::spectrum: set_text(row.spectrum, run.spectrum); break;
      case Axis::sigma: row.sigma = run.sigma; break;
      case Axis::train_noise: row.train_noise = run.train_noise; break;
      case Axis::init_seed: row.init_seed = run.init_seed; break;
      case Axis::model: set_text(row.model, run.model.text); break;
      case Axis::lr: row.lr = run.lr; break;
      case Axis::steps: row.steps = run.steps; break;
      case Axis::optimizer: set_text(row.optimizer, to_string(run.optimizer)); break;
      case Axis::batch: row.batch = run.batch; break;
      case Axis::lr_schedule: set_text(row.lr_schedule, to_string(run.schedule)); break;
      case Axis::init: set_text(row.init, run.init); break;
      case Axis::m_test: row.m_test = condition.m; break;
      case Axis::shift: set_text(row.shift, condition.shift.text); break;
      case Axis::ridge_lambda: row.ridge_lambda = condition.ridge_lambda; break;
      case Axis::knn_k: row.knn_k = condition.knn_k; break;
    }
  }
}

}  // namespace icl
