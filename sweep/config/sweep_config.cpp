#include "config/sweep_config.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

#include "call_syntax.hpp"
#include "input_error.hpp"
#include "config/grid_axes.hpp"
#include "config/result_row.hpp"

namespace icl {
namespace {

using namespace config;

// Far beyond any feasible run, and exactly representable as a double, so the bound check is exact.
constexpr std::int64_t kMaxSteps = 1'000'000'000'000'000'000;
// Each run builds d x d matrices (and Monte-Carlo prompts of m_test x d); beyond these sizes a
// run cannot finish, or exhausts memory, long after the sweep has started.
constexpr int kMaxDimension = 4096;
constexpr int kMaxTestPrompt = 1'000'000;
constexpr double kMaxPromptEntries = 5e7;  // m_test x d
constexpr int kMaxTrajectoryPoints = 100'000;
constexpr int kMaxKnnK = 1'000'000;
// Grids beyond these cannot be run or stored; the estimate of the file size uses the row's size.
constexpr double kMaxRuns = 1e8;
constexpr double kMaxRows = 1e10;
constexpr double kRowBytes = sizeof(ResultRow);
const std::string kCommandLine = "command line";
constexpr int kMaxBatch = 1'000'000;
constexpr std::int64_t kMaxTrainSteps = 1'000'000'000'000;
constexpr int kMaxThreads = 1024;

// A test prompt of m rows (for `n`: the largest n_train) must fit in memory for every d.
void check_prompt_size(const Entry& e, const std::string& item, double m, int max_d) {
  const auto plain = [](double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%.15g", v);
    return std::string(text);
  };
  const std::string context = item == "n" ? "with n_train up to " + plain(m) + ", " : "";
  if (m > kMaxTestPrompt)
    fail(e, item,
         context + "test prompts of " + plain(m) + " rows are too large; the limit is " +
             std::to_string(kMaxTestPrompt));
  if (m * max_d > kMaxPromptEntries)
    fail(e, item,
         context + "the prompt matrix would be too large: m_test x d = " + plain(m) + " x " +
             std::to_string(max_d) + " = " + plain(m * max_d) + " entries; the limit is 5e7");
}

std::vector<int> m_test_list(const Entry& e, const std::vector<int>& d,
                             const std::vector<int>& n_train) {
  const int max_d = *std::max_element(d.begin(), d.end());
  std::vector<int> values;
  for (const auto& item : split_list(e)) {
    if (item == "n") {
      check_prompt_size(e, item, *std::max_element(n_train.begin(), n_train.end()), max_d);
      values.push_back(0);
      continue;
    }
    for (const auto& n : expand_item(e, item)) {
      check_prompt_size(e, n.item, n.value, max_d);
      values.push_back(static_cast<int>(integer(e, n, 1, INT_MAX)));
    }
  }
  return values;
}

// Refuses grids that cannot be run or stored, counting in floating point so that nothing
// overflows. The message names the grid key with the most values (the first on ties), the
// one to shorten.
void check_grid_size(const SweepConfig& c, const std::map<std::string, Entry>& entries) {
  const double runs = grid_extent(c, AxisKind::run);
  double rows = runs;  // times each condition axis in turn, as the message has always counted
  for (const GridAxis& axis : kGridAxes)
    if (axis.kind == AxisKind::condition) rows *= static_cast<double>(axis.size(c));
  if (runs <= kMaxRuns && rows <= kMaxRows) return;
  // The run axis with the most values, the first on ties (kGridAxes' order).
  const GridAxis* widest = &kGridAxes[0];
  for (std::size_t a = 0; a < kRunAxisCount; ++a)
    if (kGridAxes[a].size(c) > widest->size(c)) widest = &kGridAxes[a];
  const Entry& e = entries.at(std::string(widest->key));
  const std::string rows_size = " rows (about " + byte_size(rows * kRowBytes) + " of results uncompressed)";
  if (runs > kMaxRuns)
    fail(e, trim(e.text),
         "the grid has " + estimate(runs, kMaxRuns) + " training runs, " + estimate(rows) +
             rows_size + "; the limit is 1e8 training runs");
  fail(e, trim(e.text),
       "the grid has " + estimate(rows, kMaxRows) + rows_size + "; the limit is 1e10 rows");
}

// The spectra as written; the contents of the files they name join `c.inputs` (read here
// unless given). Each is built for every d by validate_spectra, once the grid's size is known.
std::vector<std::string> spectra(const Entry& e, SweepConfig& c) {
  std::vector<std::string> items;
  for (const auto& written : split_list(e)) {
    // Ranges in a spectrum's parameters give one spectrum per value (file(PATH) is a path).
    try {
      const std::vector<std::string> expanded =
          covariance_file(written) ? std::vector<std::string>{written} : expand_call_ranges(written, kMaxRangeValues);
      items.insert(items.end(), expanded.begin(), expanded.end());
    } catch (const InputError& x) {
      fail(e, written, x.what());
    }
  }
  for (const auto& item : items) {
    if (item.size() > kSpectrumChars)
      fail(e, item, "longer than " + std::to_string(kSpectrumChars) + " characters");
    try {
      if (const auto path = covariance_file(item); path && !c.inputs.count(*path))
        c.inputs[*path] = read_input_file(*path, item);
    } catch (const InputError& x) {
      fail(e, item, x.what());
    }
  }
  return items;
}

void validate_spectra(const SweepConfig& c, const Entry& e) {
  for (const auto& item : c.spectrum) {
    for (const int d : c.d) {
      try {
        check_covariance(item, d, c.inputs);
      } catch (const InputError& x) {
        fail(e, item, x.what());
      }
    }
  }
}
std::vector<Shift> shifts(const Entry& e) {
  std::vector<Shift> all;
  for (const auto& item : split_list(e)) {
    std::vector<Shift> expanded;
    try {
      expanded = expand_shift(item);
    } catch (const InputError& x) {
      fail(e, item, x.what());
    }
    for (auto& s : expanded) {
      if (s.text.size() > kShiftChars)
        fail(e, item,
             "'" + s.text + "' is longer than " + std::to_string(kShiftChars) + " characters");
      all.push_back(std::move(s));
    }
  }
  return all;
}


// Formatting for to_ini(): what it writes reads back as the same value.
std::string ints(const std::vector<int>& v) {
  return join(v, [](int x) { return std::to_string(x); });
}
std::string reals(const std::vector<double>& v) { return join(v, shortest); }
std::string texts(const std::vector<std::string>& v) {
  return join(v, [](const std::string& x) { return x; });
}
double positive(const Entry& e) {
  const Number n = scalar(e);
  if (!(n.value > 0.0)) fail(e, n.item, "must be > 0");
  return n.value;
}

// A list of values > 0, ranges expanded.
std::vector<double> positive_list(const Entry& e) {
  std::vector<double> values;
  for (const auto& n : numbers(e)) {
    if (!(n.value > 0.0)) fail(e, n.item, "must be > 0");
    values.push_back(n.value);
  }
  return values;
}

// `parse` applied to every item of the list; an InputError becomes the key's ConfigError naming it.
template <class F>
auto each_item(const Entry& e, F parse) {
  std::vector<decltype(parse(std::string()))> values;
  for (const auto& item : split_list(e)) {
    try {
      values.push_back(parse(item));
    } catch (const InputError& x) {
      fail(e, item, x.what());
    }
  }
  return values;
}

// Runs `parse` on the entry's text; an InputError becomes the key's ConfigError.
template <class F>
auto checked(const Entry& e, F parse) {
  try {
    return parse(trim(e.text));
  } catch (const InputError& x) {
    fail(e, trim(e.text), x.what());
  }
}

// A list that holds one value twice once ranges are expanded and numbers and calls written in
// their canonical form (`3, 3`; `0.1, 1e-1`; `power(1), power(1.0)`) would compute the same grid
// points twice, in rows nobody can tell apart: refused, naming both spellings where the list's
// items map one to one onto its values. `canonical` is the key's value as the stored config writes it.
// A call's identity: its name and its arguments, each number in its shortest form (power(1.0) is
// power(1)); anything that is not a call is its own text.
std::string call_identity(const std::string& item) {
  try {
    const Call call = parse_call(item);
    std::string id = call.name + "(";
    for (const std::string& arg : call.args) {
      try {
        id += shortest(parse_number(arg, "")) + ",";
      } catch (const InputError&) {
        id += arg + ",";
      }
    }
    return id + ")";
  } catch (const InputError&) {
    return item;
  }
}

void refuse_repeats(const Entry& e, const std::string& canonical) {
  const std::vector<std::string> values = split_list(Entry{e.key, canonical, e.origin});
  std::map<std::string, std::size_t> first;
  for (std::size_t j = 0; j < values.size(); ++j) {
    const auto [at, fresh] = first.emplace(call_identity(values[j]), j);
    if (fresh) continue;
    const std::vector<std::string> written = split_list(e);
    const std::string spellings =
        written.size() == values.size() ? " ('" + written[at->second] + "' and '" + written[j] + "')" : "";
    fail(e, trim(e.text), "lists " + values[j] + " twice" + spellings);
  }
}

enum class Need { value, required, derived };

// One row of the key table: the single place where a key is declared. `parse` validates the
// entry's text into the config (keys are parsed in the table's order, so a parser may use the
// keys above it); `format` writes the value back as text. A key's default is `format` applied
// to a default-constructed SweepConfig, unless it is required or derived from other keys.
struct KeySpec {
  const char* name;
  const char* meaning;
  Need need;
  bool list;
  void (*parse)(const Entry&, SweepConfig&);
  std::string (*format)(const SweepConfig&);
  std::string (*derive)(const SweepConfig&);  // Need::derived: the default's text
  const char* derived_note;                    // Need::derived: the default, for the docs
};

const KeySpec kKeys[] = {
    {"sweep.name", "the sweep's name", Need::derived, false,
     [](const Entry& e, SweepConfig& c) { c.name = text_value(e); },
     [](const SweepConfig& c) { return c.name; },
     [](const SweepConfig& c) {
       const std::string stem = std::filesystem::path(c.source).stem().string();
       return stem.empty() ? std::string("demo") : stem;
     },
     "the config file's name without its extension"},
    {"sweep.seed", "root of every random stream (unsigned 64-bit)", Need::value, false,
     [](const Entry& e, SweepConfig& c) { c.seed = unsigned64(e); },
     [](const SweepConfig& c) { return std::to_string(c.seed); }, nullptr, nullptr},
    {"sweep.output", "the HDF5 results file; its journal is OUTPUT.journal", Need::derived, false,
     [](const Entry& e, SweepConfig& c) { c.output = text_value(e); },
     [](const SweepConfig& c) { return c.output; },
     [](const SweepConfig& c) { return c.name + ".h5"; }, "NAME.h5"},

    {"grid.d", "dimensions d >= 1 (at most 4096)", Need::required, true,
     [](const Entry& e, SweepConfig& c) {
       c.d = int_list(e, 1, kMaxDimension, "d x d matrices of this size are too large");
     },
     [](const SweepConfig& c) { return ints(c.d); }, nullptr, nullptr},
    {"grid.n_train", "training prompt lengths N >= 1", Need::required, true,
     [](const Entry& e, SweepConfig& c) { c.n_train = int_list(e, 1); },
     [](const SweepConfig& c) { return ints(c.n_train); }, nullptr, nullptr},
    {"grid.spectrum", "training covariance models (icl-sweep --list-spectra)", Need::value, true,
     [](const Entry& e, SweepConfig& c) { c.spectrum = spectra(e, c); },
     [](const SweepConfig& c) { return texts(c.spectrum); }, nullptr, nullptr},
    {"grid.sigma", "initialisation scales sigma > 0", Need::value, true,
     [](const Entry& e, SweepConfig& c) { c.sigma = positive_list(e); },
     [](const SweepConfig& c) { return reals(c.sigma); }, nullptr, nullptr},
    {"grid.train_noise",
     "label noise of the training law, standard deviations s >= 0: y_i = <w, x_i> + N(0, s^2) in every training "
     "prompt (the flow's population loss and the sampled models' prompts); 0: noiseless, the paper's",
     Need::value, true,
     [](const Entry& e, SweepConfig& c) {
       c.train_noise.clear();
       for (const auto& n : numbers(e)) {
         if (!(n.value >= 0.0 && n.value <= 1e3)) fail(e, n.item, "must be >= 0 and <= 1000");
         c.train_noise.push_back(n.value);
       }
     },
     [](const SweepConfig& c) { return reals(c.train_noise); }, nullptr, nullptr},
    {"grid.init_seed", "training replicates, integers >= 0: each its own initialisation (Theta; a sampled model's weights) and training prompts", Need::value, true,
     [](const Entry& e, SweepConfig& c) { c.init_seed = int_list(e, 0); },
     [](const SweepConfig& c) { return ints(c.init_seed); }, nullptr, nullptr},

    {"grid.model", "models to train at every grid point (icl-sweep --list-models)", Need::value, true,
     [](const Entry& e, SweepConfig& c) {
       c.model.clear();
       for (const auto& item : split_list(e)) {
         try {
           c.model.push_back(parse_model(item));
         } catch (const InputError& x) {
           fail(e, item, x.what());
         }
         if (c.model.back().text.size() > kModelChars)
           fail(e, item, "longer than " + std::to_string(kModelChars) + " characters");
       }
     },
     [](const SweepConfig& c) { return join(c.model, [](const ModelSpec& m) { return m.text; }); }, nullptr,
     nullptr},

    {"train.method", "how the model is trained: population (gradient flow of the population loss)",
     Need::value, false,
     [](const Entry& e, SweepConfig& c) {
       c.method = text_value(e);
       if (c.method != "population") fail(e, c.method, "the only method is population");
     },
     [](const SweepConfig& c) { return c.method; }, nullptr, nullptr},
    {"train.integrator", "euler, rk45 or rosenbrock (stiff spectra need rosenbrock)", Need::value, false,
     [](const Entry& e, SweepConfig& c) {
       try {
         c.flow.integrator = parse_integrator(trim(e.text));
       } catch (const InputError& x) {
         fail(e, trim(e.text), x.what());
       }
     },
     [](const SweepConfig& c) { return std::string(to_string(c.flow.integrator)); }, nullptr, nullptr},
    {"train.tol", "stop when ||A - A*||_F / ||A*||_F <= tol", Need::value, false,
     [](const Entry& e, SweepConfig& c) {
       c.flow.tol = scalar(e).value;
       if (!(c.flow.tol >= 0.0)) fail(e, trim(e.text), "must be >= 0");
     },
     [](const SweepConfig& c) { return shortest(c.flow.tol); }, nullptr, nullptr},
    {"train.t_max", "gradient-flow time limit (status max_time)", Need::value, false,
     [](const Entry& e, SweepConfig& c) { c.flow.t_max = positive(e); },
     [](const SweepConfig& c) { return shortest(c.flow.t_max); }, nullptr, nullptr},
    {"train.trajectory_points", "samples of the loss curve kept per training run (>= 2)", Need::value, false,
     [](const Entry& e, SweepConfig& c) {
       c.flow.trajectory_points =
           int_scalar(e, 2, kMaxTrajectoryPoints, "each training run stores this many samples");
     },
     [](const SweepConfig& c) { return std::to_string(c.flow.trajectory_points); }, nullptr, nullptr},
    {"train.max_steps", "integrator step limit (status max_steps)", Need::value, false,
     [](const Entry& e, SweepConfig& c) { c.flow.max_steps = integer(e, scalar(e), 1, kMaxSteps); },
     [](const SweepConfig& c) { return std::to_string(c.flow.max_steps); }, nullptr, nullptr},
    {"train.rtol", "local relative error of the adaptive integrators, in (0, 1)", Need::value, false,
     [](const Entry& e, SweepConfig& c) {
       c.flow.rtol = scalar(e).value;
       if (!(c.flow.rtol > 0.0 && c.flow.rtol < 1.0)) fail(e, trim(e.text), "must be > 0 and < 1");
     },
     [](const SweepConfig& c) { return shortest(c.flow.rtol); }, nullptr, nullptr},

    {"train.lr", "learning rates of the sampled models (a grid axis; ignored by flow)", Need::value, true,
     [](const Entry& e, SweepConfig& c) {
       c.lr.clear();
       for (const auto& n : numbers(e)) {
         if (!(n.value > 0.0 && n.value < 1e3)) fail(e, n.item, "must be > 0 and < 1000");
         c.lr.push_back(n.value);
       }
     },
     [](const SweepConfig& c) { return reals(c.lr); }, nullptr, nullptr},
    {"train.steps", "optimizer steps of the sampled models (a grid axis; ignored by flow)", Need::value, true,
     [](const Entry& e, SweepConfig& c) {
       c.steps.clear();
       for (const auto& n : numbers(e)) c.steps.push_back(integer(e, n, 1, kMaxTrainSteps));
     },
     [](const SweepConfig& c) {
       return join(c.steps, [](std::int64_t v) { return std::to_string(v); });
     },
     nullptr, nullptr},
    {"train.batch", "prompts per optimizer step (a grid axis; ignored by flow)", Need::value, true,
     [](const Entry& e, SweepConfig& c) { c.batch = int_list(e, 1, kMaxBatch, "a batch is held in memory"); },
     [](const SweepConfig& c) { return ints(c.batch); }, nullptr, nullptr},
    {"train.optimizer", "adam, adamw or sgd (a grid axis; ignored by flow)", Need::value, true,
     [](const Entry& e, SweepConfig& c) { c.optimizer = each_item(e, parse_optimizer); },
     [](const SweepConfig& c) {
       return join(c.optimizer, [](TrainOptions::Optimizer o) { return std::string(to_string(o)); });
     },
     nullptr, nullptr},
    {"train.lr_schedule", "constant, cosine (decay to 0) or warmup (10% linear warm-up, then cosine) (a grid axis; ignored by flow)",
     Need::value, true,
     [](const Entry& e, SweepConfig& c) { c.lr_schedule = each_item(e, parse_schedule); },
     [](const SweepConfig& c) {
       return join(c.lr_schedule, [](TrainOptions::Schedule s) { return std::string(to_string(s)); });
     },
     nullptr, nullptr},
    {"train.clip", "largest global norm of a step's gradient of a sampled model, rescaled to it above (0: no clipping)",
     Need::value, false,
     [](const Entry& e, SweepConfig& c) {
       c.train.clip = scalar(e).value;
       if (!(c.train.clip >= 0.0 && c.train.clip < 1e30)) fail(e, trim(e.text), "must be >= 0 and finite");
     },
     [](const SweepConfig& c) { return shortest(c.train.clip); }, nullptr, nullptr},
    {"train.init", "paper (sigma, Theta for LSA models; Garg et al.'s for gpt2: GPT-2's, read-in and read-out PyTorch's) or gaussian(scale) (a grid axis; ignored by flow)",
     Need::value, true,
     [](const Entry& e, SweepConfig& c) {
       c.init = each_item(e, [](const std::string& t) {
         TrainOptions o;
         parse_init(t, o);
         return init_text(o);
       });
       for (const std::string& text : c.init)
         if (text.size() > kInitChars) fail(e, text, "longer than " + std::to_string(kInitChars) + " characters");
     },
     [](const SweepConfig& c) { return texts(c.init); }, nullptr, nullptr},
    {"train.curriculum", "none, or garg(every): Garg et al.'s, scaled: dimensions from d/4 and points from (N+1)/4, up by 1 and 2 every `every` steps",
     Need::value, false,
     [](const Entry& e, SweepConfig& c) {
       checked(e, [&](const std::string& t) { parse_curriculum(t, c.train); return 0; });
     },
     [](const SweepConfig& c) { return curriculum_text(c.train); }, nullptr, nullptr},
    {"train.threads", "intra-op threads of one rank's training (one rank per core: 1)", Need::value, false,
     [](const Entry& e, SweepConfig& c) { c.train.threads = int_scalar(e, 1, kMaxThreads); },
     [](const SweepConfig& c) { return std::to_string(c.train.threads); }, nullptr, nullptr},
    {"train.device",
     "where the sampled models train: cpu; cuda, each rank on its node-local rank modulo the GPUs it sees; cuda:N, "
     "every rank on GPU N (a CUDA build of libtorch; checked on every rank at start-up)",
     Need::value, false,
     [](const Entry& e, SweepConfig& c) {
       // The syntax here; whether each rank has the device, at start-up on that rank
       // (sweep_command.cpp), so that a login node without GPUs can --dry-run a GPU sweep.
       c.train.device = trim(e.text);
       try {
         parse_device(c.train.device);
       } catch (const InputError& x) {
         fail(e, c.train.device, x.what());
       }
     },
     [](const SweepConfig& c) { return c.train.device; }, nullptr, nullptr},
    {"train.precision",
     "GPT-2's arithmetic on a CUDA device: fp32 (TF32 off), tf32 (TensorFloat-32 matrix products) or bf16 (bfloat16 "
     "autocast); tf32 and bf16 need train.device = cuda; the LSA models are double precision",
     Need::value, false,
     [](const Entry& e, SweepConfig& c) {
       try {
         c.train.precision = parse_precision(e.text);
       } catch (const InputError& x) {
         fail(e, trim(e.text), x.what());
       }
       if (c.train.precision != TrainOptions::Precision::fp32 && !parse_device(c.train.device).cuda)
         fail(e, trim(e.text), "needs train.device = cuda or cuda:N (it is " + c.train.device + ")");
     },
     [](const SweepConfig& c) { return std::string(to_string(c.train.precision)); }, nullptr, nullptr},

    {"train.checkpoint_seconds", "seconds between checkpoints of a sampled run's training state (> 0)", Need::value,
     false,
     [](const Entry& e, SweepConfig& c) {
       c.train.checkpoint_seconds = positive(e);
       if (c.train.checkpoint_seconds > 1e9) fail(e, trim(e.text), "must be <= 1e9");
     },
     [](const SweepConfig& c) { return shortest(c.train.checkpoint_seconds); }, nullptr, nullptr},

    {"eval.m_test", "test prompt lengths M; `n` means the run's n_train", Need::value, true,
     [](const Entry& e, SweepConfig& c) { c.m_test = m_test_list(e, c.d, c.n_train); },
     [](const SweepConfig& c) {
       return join(c.m_test, [](int m) { return m == 0 ? std::string("n") : std::to_string(m); });
     },
     nullptr, nullptr},
    {"eval.shift", "test conditions (icl-sweep --list-shifts); name(a, b) expands to one each", Need::value, true,
     [](const Entry& e, SweepConfig& c) { c.shift = shifts(e); },
     [](const SweepConfig& c) { return join(c.shift, [](const Shift& s) { return s.text; }); }, nullptr,
     nullptr},
    {"eval.mc_prompts", "Monte-Carlo test prompts per condition; 0 = closed forms only", Need::value, false,
     [](const Entry& e, SweepConfig& c) {
       c.mc.prompts = int_scalar(e, 0, INT_MAX, "the results file stores it as a 32-bit integer");
     },
     [](const SweepConfig& c) { return std::to_string(c.mc.prompts); }, nullptr, nullptr},
    {"eval.target_rel_se",
     "sample each condition until the Monte-Carlo estimates of eval.target_predictors have a standard error of "
     "at most this fraction of their mean (not waiting for a risk known to be infinite or of infinite variance), eval.mc_prompts being "
     "the cap (docs/theory.md 9 says why 1% by default); 0 = exactly eval.mc_prompts",
     Need::value, false,
     [](const Entry& e, SweepConfig& c) {
       const Number n = scalar(e);
       if (!(n.value >= 0.0 && n.value < 1.0)) fail(e, n.item, "must be in [0, 1)");
       c.mc.target_rel_se = n.value;
     },
     [](const SweepConfig& c) { return shortest(c.mc.target_rel_se); }, nullptr, nullptr},
    {"eval.target_predictors",
     "the predictors whose estimates eval.target_rel_se waits for (--describe-predictors names them); the others "
     "are estimated on the same prompts with their own standard errors",
     Need::value, false,
     [](const Entry& e, SweepConfig& c) {
       c.mc.target_waits.fill(false);
       for (const auto& item : split_list(e)) {
         const std::size_t i = predictor_named(item);
         if (i == kPredictorCount) fail(e, item, "no such predictor (" + predictor_names() + ")");
         if (c.mc.target_waits[i]) fail(e, trim(e.text), "lists " + item + " twice");
         c.mc.target_waits[i] = true;
       }
     },
     [](const SweepConfig& c) { return predictor_names(&c.mc.target_waits); },
     nullptr, nullptr},
    {"eval.ridge_lambda",
     "lambda > 0 of the ridge baseline; a list makes a condition axis (the same prompts for every lambda)",
     Need::value, true,
     [](const Entry& e, SweepConfig& c) { c.ridge_lambda = positive_list(e); },
     [](const SweepConfig& c) { return reals(c.ridge_lambda); }, nullptr, nullptr},
    {"eval.knn_k",
     "k of the nearest-neighbour baseline; 0 = no k-NN baseline (its columns NaN); a list makes a condition axis "
     "(the same prompts for every k)",
     Need::value, true,
     [](const Entry& e, SweepConfig& c) {
       c.knn_k = int_list(e, 0, kMaxKnnK, "the nearest-neighbour baseline keeps k training points per query");
     },
     [](const SweepConfig& c) { return ints(c.knn_k); }, nullptr, nullptr},
};

std::string default_text(const KeySpec& k) {
  switch (k.need) {
    case Need::required: return "required";
    case Need::derived: return k.derived_note;
    case Need::value: break;
  }
  return k.format(SweepConfig{});
}

}  // namespace

const std::vector<ConfigKey>& config_key_table() {
  static const std::vector<ConfigKey> table = [] {
    std::vector<ConfigKey> t;
    for (const KeySpec& k : kKeys) t.push_back({k.name, k.meaning, default_text(k), k.list, k.need == Need::value});
    return t;
  }();
  return table;
}

const std::vector<std::string>& config_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> names;
    for (const KeySpec& k : kKeys) names.emplace_back(k.name);
    return names;
  }();
  return keys;
}

SweepConfig parse_config(const std::string& text, const std::string& name, const Overrides& overrides,
                         const InputFiles* inputs) {
  const std::string label = name.empty() ? "embedded config" : name;
  std::map<std::string, Entry> entries = read_ini(text, label, config_keys());
  const auto& keys = config_keys();
  for (const auto& [key, value] : overrides) {
    Entry e{key, trim(value), kCommandLine};
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) fail(e, e.text, "unknown key");
    // to_ini() must read back as the same config, and INI has no escape for these.
    if (e.text.find_first_of("#\n\r") != std::string::npos)
      fail(e, e.text, "a value cannot contain '#' or a line break");
    entries[key] = std::move(e);
  }

  SweepConfig c;
  c.source = name;
  if (inputs) c.inputs = *inputs;
  for (const KeySpec& k : kKeys) {
    auto it = entries.find(k.name);
    if (it == entries.end()) {
      if (k.need == Need::required) fail(Entry{k.name, "", label}, "", "required key is missing");
      // A default is parsed like a written value, so that derived defaults are checked too.
      const std::string fallback = k.need == Need::derived ? k.derive(c) : k.format(c);
      it = entries.emplace(k.name, Entry{k.name, fallback, label}).first;
    }
    k.parse(it->second, c);
    if (k.list) refuse_repeats(it->second, k.format(c));
  }
  // Counting first: a grid too large to run is refused before any per-value work.
  check_grid_size(c, entries);
  validate_spectra(c, entries.at("grid.spectrum"));
  return c;
}

SweepConfig load_config(const std::string& path, const Overrides& overrides) {
  std::ifstream in(path, std::ios::binary);
  std::error_code ec;
  // Opening a directory succeeds and reads as empty, which would hide the mistake.
  if (!in || std::filesystem::is_directory(path, ec))
    throw ConfigError(path, "", "", "", "cannot read the file");
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw ConfigError(path, "", "", "", "cannot read the file");
  return parse_config(text, path, overrides);
}

std::string SweepConfig::to_ini() const {
  std::string s, section;
  for (const KeySpec& k : kKeys) {
    const auto [sec, key] = split_key(k.name);
    if (sec != section) {
      s += (section.empty() ? "[" : "\n[") + sec + "]\n";
      section = sec;
    }
    s += key + " = " + k.format(*this) + "\n";
  }
  return s;
}

std::vector<std::string> config_differences(const std::string& stored, const std::string& requested) {
  const auto a = config::ini_values(stored);
  const auto b = config::ini_values(requested);
  std::set<std::string> keys;
  for (const auto& [k, v] : a) keys.insert(k);
  for (const auto& [k, v] : b) keys.insert(k);
  std::vector<std::string> differences;
  for (const auto& k : keys) {
    if (k == "sweep.output") continue;
    const auto ia = a.find(k);
    const auto ib = b.find(k);
    const std::string va = ia == a.end() ? "(none)" : ia->second;
    const std::string vb = ib == b.end() ? "(none)" : ib->second;
    if (va != vb) differences.push_back(k + ": stored '" + va + "', requested '" + vb + "'");
  }
  return differences;
}

}  // namespace icl
