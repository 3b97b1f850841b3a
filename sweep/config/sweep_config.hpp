#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "config/config_values.hpp"
#include "covariance.hpp"
#include "gradient_flow.hpp"
#include "model_spec.hpp"
#include "monte_carlo.hpp"
#include "shifts.hpp"
#include "train_options.hpp"

namespace icl {

// Every config key of docs/interface.md, parsed and validated. The defaults are the member
// initialisers here and in the core's option structs; the key table in sweep_config.cpp reads
// them from a default-constructed SweepConfig, so each default is written once.
struct SweepConfig {
  std::string source;  // the config file's path, or the label of its text
  // [sweep]
  std::string name;
  std::uint64_t seed = 1;
  std::string output;
  // [grid], in the order written
  std::vector<int> d;
  std::vector<int> n_train;
  std::vector<std::string> spectrum = {"isotropic"};  // as written, e.g. "power(1)"
  std::vector<double> sigma = {0.01};
  std::vector<double> train_noise = {0.0};  // label noise (sd) of the training prompts
  std::vector<int> init_seed = {0};
  std::vector<ModelSpec> model = {parse_model("flow")};
  // [train]
  std::string method = "population";
  FlowOptions flow;
  // Sampled models; its lr, steps, optimizer, batch, schedule and init are the defaults of the
  // lists below, each a grid axis (a run's own values: TrainingRun::options).
  TrainOptions train;
  std::vector<double> lr = {TrainOptions{}.lr};
  std::vector<std::int64_t> steps = {TrainOptions{}.steps};
  std::vector<TrainOptions::Optimizer> optimizer = {TrainOptions{}.optimizer};
  std::vector<int> batch = {TrainOptions{}.batch};
  std::vector<TrainOptions::Schedule> lr_schedule = {TrainOptions{}.schedule};
  std::vector<std::string> init = {init_text(TrainOptions{})};  // canonical: paper, gaussian(0.02)
  // [eval]
  std::vector<int> m_test = {0};  // 0 stands for `n` (the training run's n_train)
  std::vector<Shift> shift = expand_shift("none");  // expanded: one entry per condition
  std::vector<double> ridge_lambda = McSettings{}.ridge_lambdas;  // a condition axis
  std::vector<int> knn_k = McSettings{}.knn_ks;                     // a condition axis
  McSettings mc;  // its ridge_lambdas and knn_ks are the two axes above, set where a run is evaluated

  // The contents of every file the config reads (file(PATH) spectra), read once by rank 0.
  InputFiles inputs;

  // The effective config as INI text: every key, with its value as parsed; stored in the
  // results file and compared on resume.
  std::string to_ini() const;
};

using Overrides = std::vector<std::pair<std::string, std::string>>;

// Reads `path` (INI) and applies `overrides` ("section.key" -> value, from the command line,
// taking precedence). Throws ConfigError naming the file, section, key and value.
SweepConfig load_config(const std::string& path, const Overrides& overrides);

// Same, from INI text; `name` labels errors. With `inputs`, file(PATH) spectra take their
// contents from there instead of reading the files (ranks other than 0).
SweepConfig parse_config(const std::string& text, const std::string& name, const Overrides& overrides,
                         const InputFiles* inputs = nullptr);

// One config key as users see it: in --help, in docs/interface.md and in messages.
struct ConfigKey {
  std::string name;          // "section.key"
  std::string meaning;       // one line
  std::string default_text;  // as it would be written in the file; or why there is none
  bool list = false;         // takes a comma-separated list (a grid axis or a condition axis)
  bool literal_default = false;  // default_text is a value, not a description
};
const std::vector<ConfigKey>& config_key_table();
// All config keys as "section.key", in the table's order.
const std::vector<std::string>& config_keys();

// The keys whose values differ between two INI texts (to_ini() texts, possibly with extra
// sections such as the sweep's identity), each as "section.key: stored 'a', requested 'b'".
// sweep.output is not compared: a resumed file may have moved.
std::vector<std::string> config_differences(const std::string& stored, const std::string& requested);

}  // namespace icl
