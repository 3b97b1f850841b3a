#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "gradient_flow.hpp"
#include "shifts.hpp"

namespace icl {

// A config value that cannot be used. what() is the one-line message the program prints:
//   "<file>: [<section>] <key> = <value>: <reason>"
struct ConfigError : std::runtime_error {
  ConfigError(const std::string& file, const std::string& section, const std::string& key,
              const std::string& value, const std::string& reason);
};

// Every key of SPEC.md's config table, parsed and validated.
struct SweepConfig {
  std::string source;  // the config file's path ("" for the embedded default)
  // [sweep]
  std::string name;
  std::uint64_t seed = 1;
  std::string output;
  // [grid], in the order written
  std::vector<int> d;
  std::vector<int> n_train;
  std::vector<std::string> spectrum;  // as written, e.g. "power(1)"
  std::vector<double> sigma;
  std::vector<int> init_seed;
  // [train]
  std::string method = "population";
  Integrator integrator = Integrator::rosenbrock;
  double tol = 1e-8;
  double t_max = 1e9;
  int trajectory_points = 64;
  std::int64_t max_steps = 100'000'000;  // extension
  double rtol = 1e-7;                    // extension: local tolerance of adaptive integrators
  // [eval]
  std::vector<int> m_test;  // 0 stands for `n` (the training run's n_train)
  std::vector<Shift> shift;  // expanded: one entry per condition
  int mc_prompts = 10000;
  double ridge_lambda = 0.1;
  int knn_k = 3;

  // The effective config as INI text: every key, with its value as parsed; stored in the
  // results file and compared on resume.
  std::string to_ini() const;
};

// Reads `path` (INI) and applies `overrides` ("section.key" -> value, from the command line,
// taking precedence). Throws ConfigError naming the file, section, key and value.
SweepConfig load_config(const std::string& path,
                        const std::vector<std::pair<std::string, std::string>>& overrides);

// Same, from INI text (used for the embedded default and tests); `name` labels errors.
SweepConfig parse_config(const std::string& text, const std::string& name,
                         const std::vector<std::pair<std::string, std::string>>& overrides);

// All config keys as "section.key", for the command line.
const std::vector<std::string>& config_keys();

}  // namespace icl

namespace icl {

// The keys whose values differ between two effective configs (to_ini() texts), each as
// "section.key: stored 'a', requested 'b'". sweep.output is not compared: a resumed file
// may have moved.
std::vector<std::string> config_differences(const std::string& stored, const std::string& requested);

}  // namespace icl
