#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "command_line.hpp"
#include "config/sweep_config.hpp"
#include "input_error.hpp"
#include "train_options.hpp"

using icl::ConfigError;
using icl::parse_config;
using icl::SweepConfig;
using Overrides = std::vector<std::pair<std::string, std::string>>;

namespace {

const char* const kFull = R"(# every key
[sweep]
name = full_run
seed = 18446744073709551615
output = out/full.h5

[grid]
d = 2, 4
n_train = 8, 16  # trailing comment
spectrum = isotropic, spiked(2, 10), power(1)
sigma = 0.01, 0.1
init_seed = 0, 1, 2

[train]
method = population
integrator = rk45
tol = 1e-6
t_max = 1e7
trajectory_points = 32
max_steps = 5000
rtol = 1e-9

[eval]
m_test = n, 32
shift = none, covariate_scale(0.5, 2, 4)
mc_prompts = 0
ridge_lambda = 0.5
knn_k = 5
)";

const char* const kMinimal = "[grid]\nd = 3\nn_train = 10\n";

SweepConfig parse(const std::string& text, const Overrides& overrides = {}) {
  return parse_config(text, "configs/test.ini", overrides);
}

std::string write_temp(const std::string& name, const std::string& contents) {
  const std::string path = testing::TempDir() + name;
  std::ofstream(path) << contents;
  return path;
}

std::vector<std::string> shift_texts(const SweepConfig& c) {
  std::vector<std::string> texts;
  for (const auto& s : c.shift) texts.push_back(s.text);
  return texts;
}

void expect_same(const SweepConfig& a, const SweepConfig& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.seed, b.seed);
  EXPECT_EQ(a.output, b.output);
  EXPECT_EQ(a.d, b.d);
  EXPECT_EQ(a.n_train, b.n_train);
  EXPECT_EQ(a.spectrum, b.spectrum);
  EXPECT_EQ(a.sigma, b.sigma);
  EXPECT_EQ(a.init_seed, b.init_seed);
  EXPECT_EQ(a.method, b.method);
  EXPECT_EQ(a.flow.integrator, b.flow.integrator);
  EXPECT_EQ(a.flow.tol, b.flow.tol);
  EXPECT_EQ(a.flow.t_max, b.flow.t_max);
  EXPECT_EQ(a.flow.trajectory_points, b.flow.trajectory_points);
  EXPECT_EQ(a.flow.max_steps, b.flow.max_steps);
  EXPECT_EQ(a.flow.rtol, b.flow.rtol);
  EXPECT_EQ(a.m_test, b.m_test);
  ASSERT_EQ(a.shift.size(), b.shift.size());
  for (std::size_t i = 0; i < a.shift.size(); ++i) {
    EXPECT_EQ(a.shift[i].kind, b.shift[i].kind);
    EXPECT_EQ(a.shift[i].param, b.shift[i].param);
    EXPECT_EQ(a.shift[i].text, b.shift[i].text);
  }
  EXPECT_EQ(a.mc.prompts, b.mc.prompts);
  EXPECT_EQ(a.ridge_lambda, b.ridge_lambda);
  EXPECT_EQ(a.knn_k, b.knn_k);
  EXPECT_EQ(a.mc.target_rel_se, b.mc.target_rel_se);
}

// The message of the ConfigError that parsing throws; fails the test if there is none.
std::string error_of(const std::string& text, const Overrides& overrides = {},
                     const std::string& name = "bad.ini") {
  try {
    parse_config(text, name, overrides);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError for:\n" << text;
  return "";
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(Config, FullConfig) {
  const SweepConfig c = parse(kFull);
  EXPECT_EQ(c.source, "configs/test.ini");
  EXPECT_EQ(c.name, "full_run");
  EXPECT_EQ(c.seed, 18446744073709551615ULL);
  EXPECT_EQ(c.output, "out/full.h5");
  EXPECT_EQ(c.d, (std::vector<int>{2, 4}));
  EXPECT_EQ(c.n_train, (std::vector<int>{8, 16}));
  EXPECT_EQ(c.spectrum, (std::vector<std::string>{"isotropic", "spiked(2, 10)", "power(1)"}));
  EXPECT_EQ(c.sigma, (std::vector<double>{0.01, 0.1}));
  EXPECT_EQ(c.init_seed, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(c.method, "population");
  EXPECT_EQ(c.flow.integrator, icl::Integrator::rk45);
  EXPECT_EQ(c.flow.tol, 1e-6);
  EXPECT_EQ(c.flow.t_max, 1e7);
  EXPECT_EQ(c.flow.trajectory_points, 32);
  EXPECT_EQ(c.flow.max_steps, 5000);
  EXPECT_EQ(c.flow.rtol, 1e-9);
  EXPECT_EQ(c.m_test, (std::vector<int>{0, 32}));
  EXPECT_EQ(shift_texts(c), (std::vector<std::string>{"none", "covariate_scale(0.5)",
                                                      "covariate_scale(2)", "covariate_scale(4)"}));
  EXPECT_EQ(c.shift[2].kind, icl::ShiftKind::covariate_scale);
  EXPECT_EQ(c.shift[2].param, 2.0);
  EXPECT_EQ(c.mc.prompts, 0);
  EXPECT_EQ(c.ridge_lambda, (std::vector<double>{0.5}));
  EXPECT_EQ(c.knn_k, (std::vector<int>{5}));
}

TEST(Config, MinimalConfigTakesDefaults) {
  const SweepConfig c = parse(kMinimal);
  EXPECT_EQ(c.name, "test");
  EXPECT_EQ(c.seed, 1u);
  EXPECT_EQ(c.output, "test.h5");
  EXPECT_EQ(c.d, (std::vector<int>{3}));
  EXPECT_EQ(c.n_train, (std::vector<int>{10}));
  EXPECT_EQ(c.spectrum, (std::vector<std::string>{"isotropic"}));
  EXPECT_EQ(c.sigma, (std::vector<double>{0.01}));
  EXPECT_EQ(c.init_seed, (std::vector<int>{0}));
  EXPECT_EQ(c.method, "population");
  EXPECT_EQ(c.flow.integrator, icl::Integrator::rosenbrock);
  EXPECT_EQ(c.flow.tol, 1e-8);
  EXPECT_EQ(c.flow.t_max, 1e9);
  EXPECT_EQ(c.flow.trajectory_points, 64);
  EXPECT_EQ(c.flow.max_steps, 100'000'000);
  EXPECT_EQ(c.flow.rtol, 1e-7);
  EXPECT_EQ(c.m_test, (std::vector<int>{0}));
  EXPECT_EQ(shift_texts(c), (std::vector<std::string>{"none"}));
  EXPECT_EQ(c.mc.prompts, 10000);
  EXPECT_EQ(c.ridge_lambda, (std::vector<double>{0.1}));
  EXPECT_EQ(c.knn_k, (std::vector<int>{3}));
}

TEST(Config, NameDefaultsToTheFileStemOrDemo) {
  EXPECT_EQ(parse_config(kMinimal, "a/b/my_sweep.ini", {}).name, "my_sweep");
  const SweepConfig embedded = parse_config(kMinimal, "", {});
  EXPECT_EQ(embedded.name, "demo");
  EXPECT_EQ(embedded.output, "demo.h5");
  EXPECT_EQ(parse(std::string(kMinimal) + "[sweep]\nname = x\n").output, "x.h5");
}

TEST(Config, ArithmeticRanges) {
  const SweepConfig c =
      parse("[grid]\nd = 1:5:2, 10\nn_train = 4:4:1\nsigma = 0.1:0.3:0.1\ninit_seed = 0:3:1\n");
  EXPECT_EQ(c.d, (std::vector<int>{1, 3, 5, 10}));
  EXPECT_EQ(c.n_train, (std::vector<int>{4}));
  ASSERT_EQ(c.sigma.size(), 3u);
  EXPECT_DOUBLE_EQ(c.sigma[1], 0.2);
  EXPECT_EQ(c.sigma[2], 0.3);
  EXPECT_EQ(parse(std::string(kMinimal) + "sigma = 0.1:0.5:0.1\n").sigma,
            (std::vector<double>{0.1, 0.2, 0.3, 0.4, 0.5}));
  EXPECT_EQ(c.init_seed, (std::vector<int>{0, 1, 2, 3}));
}

TEST(Config, RangesInsideSpectrumAndShiftParameters) {
  const SweepConfig c = parse(std::string(kMinimal) + "spectrum = isotropic, geometric(10:1e3:*10)\n"
                                                      "[eval]\nshift = none, covariate_scale(0.5:2:0.5)\n");
  EXPECT_EQ(c.spectrum, (std::vector<std::string>{"isotropic", "geometric(10)", "geometric(100)", "geometric(1000)"}));
  ASSERT_EQ(c.shift.size(), 5u);
  EXPECT_EQ(c.shift[2].text, "covariate_scale(1)");
  // The stored config lists the values: it reads back to the same grid.
  EXPECT_EQ(parse(c.to_ini()).spectrum, c.spectrum);
  EXPECT_EQ(error_of(kMinimal, {{"grid.spectrum", "geometric(10:1:*10)"}}),
            "command line: [grid] spectrum = geometric(10:1:*10): the range is empty: its start exceeds its end");
}

TEST(Config, GeometricRanges) {
  const SweepConfig c = parse(
      "[grid]\nd = 2:20:*2\nn_train = 1:100:*10\nsigma = 0.001:1:*10\n"
      "[eval]\nm_test = n, 4:16:*2\n");
  EXPECT_EQ(c.d, (std::vector<int>{2, 4, 8, 16}));
  EXPECT_EQ(c.n_train, (std::vector<int>{1, 10, 100}));
  EXPECT_EQ(c.sigma, (std::vector<double>{0.001, 0.01, 0.1, 1.0}));
  EXPECT_EQ(c.m_test, (std::vector<int>{0, 4, 8, 16}));
}

TEST(Config, CommasInsideParenthesesDoNotSplit) {
  const SweepConfig c = parse(std::string(kMinimal) +
                              "spectrum = isotropic, spiked(2, 10), power(1), "
                              "random_uniform(0.5, 2)\n"
                              "[eval]\nshift = covariate_scale(0.5, 2, 4), none\n");
  EXPECT_EQ(c.spectrum,
            (std::vector<std::string>{"isotropic", "spiked(2, 10)", "power(1)",
                                      "random_uniform(0.5, 2)"}));
  EXPECT_EQ(shift_texts(c), (std::vector<std::string>{"covariate_scale(0.5)", "covariate_scale(2)",
                                                      "covariate_scale(4)", "none"}));
}

// A list holding one value twice, in any spelling, would compute the same grid points twice in rows
// nobody can tell apart: refused, naming the key and both spellings.
TEST(Config, AValueListedTwiceIsRefused) {
  const std::string grid = "[grid]\nn_train = 4\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {grid + "d = 2, 2\n", "[grid] d = 2, 2: lists 2 twice ('2' and '2')"},
      {grid + "d = 2\nspectrum = isotropic, isotropic\n", "lists isotropic twice"},
      {grid + "d = 2\nspectrum = power(1), power(1.0)\n", "('power(1)' and 'power(1.0)')"},
      {grid + "d = 2\ninit_seed = 0:2:1, 1\n", "[grid] init_seed = 0:2:1, 1: lists 1 twice"},
      {grid + "d = 2\n[eval]\nridge_lambda = 0.1, 1e-1\n", "lists 0.1 twice ('0.1' and '1e-1')"},
      {grid + "d = 2\n[eval]\nshift = covariate_scale(1:3:1), covariate_scale(2)\n", "lists covariate_scale(2) twice"},
      {grid + "d = 2\n[eval]\nm_test = 2:6:2, 4\n", "lists 4 twice"},
  };
  for (const auto& [text, says] : cases) EXPECT_NE(error_of(text).find(says), std::string::npos) << error_of(text);
  // Distinct values pass, however close.
  EXPECT_EQ(parse(grid + "d = 2, 3\n[eval]\nridge_lambda = 0.1, 0.1000000001\n").ridge_lambda.size(), 2u);
}

TEST(Config, IntegratorsAndNumberForms) {
  EXPECT_EQ(parse(std::string(kMinimal) + "[train]\nintegrator = euler\n").flow.integrator,
            icl::Integrator::euler);
  EXPECT_EQ(parse(std::string(kMinimal) + "[train]\nintegrator = rosenbrock\n").flow.integrator,
            icl::Integrator::rosenbrock);
  const SweepConfig c = parse("[grid]\nd = 1e1\nn_train = 20\n[train]\nmax_steps = 1e12\n");
  EXPECT_EQ(c.d, (std::vector<int>{10}));
  EXPECT_EQ(c.flow.max_steps, 1'000'000'000'000);
}

TEST(Config, OverridesTakePrecedence) {
  const SweepConfig c = parse(kFull, {{"grid.d", "8, 16"},
                                      {"eval.knn_k", " 7 "},
                                      {"sweep.name", "other"},
                                      {"grid.spectrum", "power(2), spiked(1, 3)"}});
  EXPECT_EQ(c.d, (std::vector<int>{8, 16}));
  EXPECT_EQ(c.knn_k, (std::vector<int>{7}));
  EXPECT_EQ(c.name, "other");
  EXPECT_EQ(c.output, "out/full.h5");  // given in the file, so not derived from the name
  EXPECT_EQ(c.spectrum, (std::vector<std::string>{"power(2)", "spiked(1, 3)"}));
  EXPECT_EQ(c.n_train, (std::vector<int>{8, 16}));
}

TEST(Config, OverridesCanSupplyRequiredKeys) {
  const SweepConfig c = parse("", {{"grid.d", "5"}, {"grid.n_train", "1:3:1"}});
  EXPECT_EQ(c.d, (std::vector<int>{5}));
  EXPECT_EQ(c.n_train, (std::vector<int>{1, 2, 3}));
}

TEST(Config, RoundTripThroughIni) {
  const SweepConfig configs[] = {
      parse(kFull), parse(kMinimal),
      parse("[grid]\nd = 1:9:*3\nn_train = 2:6:2\nsigma = 0.1:0.7:0.3, 1e-300\n"
            "[eval]\nm_test = 3, n\nshift = task_scale(0.25, 1e-3), covariate_flip\n")};
  for (const auto& c : configs) {
    const std::string ini = c.to_ini();
    SCOPED_TRACE(ini);
    const SweepConfig again = parse_config(ini, "stored.ini", {});
    expect_same(c, again);
    EXPECT_EQ(again.to_ini(), ini);
  }
}

TEST(Config, IniIsCanonical) {
  const std::string ini = parse(kFull).to_ini();
  EXPECT_TRUE(contains(ini, "[sweep]\nname = full_run\nseed = 18446744073709551615\n")) << ini;
  EXPECT_TRUE(contains(ini, "\n[grid]\nd = 2, 4\n")) << ini;
  EXPECT_TRUE(contains(ini, "spectrum = isotropic, spiked(2, 10), power(1)\n")) << ini;
  EXPECT_TRUE(contains(ini, "sigma = 0.01, 0.1\n")) << ini;
  EXPECT_TRUE(contains(ini, "integrator = rk45\n")) << ini;
  EXPECT_TRUE(contains(ini, "max_steps = 5000\nrtol = 1e-09\n")) << ini;
  EXPECT_TRUE(contains(ini, "m_test = n, 32\n")) << ini;
  EXPECT_TRUE(contains(
      ini, "shift = none, covariate_scale(0.5), covariate_scale(2), covariate_scale(4)\n"))
      << ini;
}

TEST(Config, LoadsFileAndSpectrumFile) {
  const std::string eigenvalues = write_temp("icl_config_eigs.txt", "4 3 2 1\n");
  const std::string path = write_temp(
      "icl_config_load.ini", "[grid]\nd = 4\nn_train = 8\nspectrum = file(" + eigenvalues + ")\n");
  const SweepConfig c = icl::load_config(path, {{"eval.mc_prompts", "100"}});
  EXPECT_EQ(c.source, path);
  EXPECT_EQ(c.name, "icl_config_load");
  EXPECT_EQ(c.spectrum, (std::vector<std::string>{"file(" + eigenvalues + ")"}));
  EXPECT_EQ(c.mc.prompts, 100);

  // The file's four eigenvalues do not fit d = 3.
  const std::string msg =
      error_of("[grid]\nd = 4, 3\nn_train = 8\nspectrum = file(" + eigenvalues + ")\n");
  EXPECT_TRUE(contains(msg, "bad.ini: [grid] spectrum = file(" + eigenvalues + "): ")) << msg;
}

TEST(Config, MissingFileIsAnError) {
  const std::string path = testing::TempDir() + "icl_no_such_config.ini";
  try {
    icl::load_config(path, {});
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": cannot read the file");
  }
  EXPECT_THROW(icl::load_config(testing::TempDir(), {}), ConfigError);
}

// One bad value of one key, on top of a valid minimal config.
struct BadValue {
  std::string label;  // test name
  std::string key;    // "section.key"
  std::string value;  // as written
  std::string shown;  // the value the message must quote
  std::string reason; // a fragment of the reason
};

std::string with_value(const std::string& full_key, const std::string& value) {
  std::map<std::string, std::map<std::string, std::string>> sections = {
      {"grid", {{"d", "4"}, {"n_train", "8"}}}};
  const auto dot = full_key.find('.');
  sections[full_key.substr(0, dot)][full_key.substr(dot + 1)] = value;
  std::string text;
  for (const auto& [section, keys] : sections) {
    text += "[" + section + "]\n";
    for (const auto& [key, v] : keys) text += key + " = " + v + "\n";
  }
  return text;
}

class ConfigBadValue : public testing::TestWithParam<BadValue> {};

TEST_P(ConfigBadValue, IsRejectedWithFileSectionKeyAndValue) {
  const BadValue& b = GetParam();
  const auto dot = b.key.find('.');
  const std::string located =
      "bad.ini: [" + b.key.substr(0, dot) + "] " + b.key.substr(dot + 1) + " = " + b.shown + ": ";
  const std::string text = with_value(b.key, b.value);
  const std::string msg = error_of(text);
  EXPECT_TRUE(contains(msg, located)) << "message: " << msg << "\nexpected: " << located;
  EXPECT_TRUE(contains(msg, b.reason)) << "message: " << msg << "\nexpected reason: " << b.reason;
  EXPECT_FALSE(contains(msg, "\n")) << msg;

  // The same value given on the command line is reported against the command line.
  const std::string cli = error_of(with_value("grid.d", "4"), {{b.key, b.value}});
  EXPECT_TRUE(contains(cli, "command line: [" + b.key.substr(0, dot) + "] ")) << cli;
}

const std::string kLongSpectrum = "file(/" + std::string(130, 'a') + ")";
const std::string kLongShift = "task_scale(1." + std::string(90, '0') + ")";

INSTANTIATE_TEST_SUITE_P(
    Config, ConfigBadValue,
    testing::Values(
        BadValue{"d_zero", "grid.d", "0", "0", "must be >= 1"},
        BadValue{"d_fraction", "grid.d", "2.5", "2.5", "not an integer"},
        BadValue{"d_empty", "grid.d", "", "", "the list is empty"},
        BadValue{"d_empty_item", "grid.d", "1,,2", "1,,2", "empty list item"},
        BadValue{"d_trailing_comma", "grid.d", "1, 2,", "1, 2,", "empty list item"},
        BadValue{"d_word", "grid.d", "four", "four", "not a finite number"},
        BadValue{"d_too_large", "grid.d", "3000000000", "3000000000", "must be <="},
        BadValue{"d_above_4096", "grid.d", "4, 5000", "5000",
                 "must be <= 4096: d x d matrices of this size are too large"},
        BadValue{"d_range_above_4096", "grid.d", "4000:5000:100", "4000:5000:100", "must be <= 4096"},
        BadValue{"range_zero_step", "grid.d", "1:5:0", "1:5:0", "step"},
        BadValue{"range_negative_step", "grid.d", "1:5:-1", "1:5:-1", "step"},
        BadValue{"range_reversed", "grid.d", "5:1:1", "5:1:1", "start exceeds its end"},
        BadValue{"range_factor_one", "grid.d", "1:10:*1", "1:10:*1", "factor"},
        BadValue{"range_factor_below_one", "grid.d", "1:10:*0.5", "1:10:*0.5", "factor"},
        BadValue{"range_zero_start", "grid.sigma", "0:1:*2", "0:1:*2", "start"},
        BadValue{"range_two_parts", "grid.d", "1:5", "1:5", "a:b:s"},
        BadValue{"range_bad_bound", "grid.d", "1:x:1", "1:x:1", "'x' is not a finite number"},
        BadValue{"range_too_long", "grid.sigma", "0:1e9:1", "0:1e9:1", "more than"},
        BadValue{"n_train_zero", "grid.n_train", "0", "0", "must be >= 1"},
        BadValue{"n_train_fractional_range", "grid.n_train", "1:100:*1.5", "1:100:*1.5",
                 "gives 1.5, not an integer"},
        BadValue{"sigma_negative", "grid.sigma", "-1", "-1", "must be > 0"},
        BadValue{"sigma_nan", "grid.sigma", "nan", "nan", "not a finite number"},
        BadValue{"sigma_second_item", "grid.sigma", "0.1, x", "x", "not a finite number"},
        BadValue{"init_seed_negative", "grid.init_seed", "-1", "-1", "must be >= 0"},
        BadValue{"spectrum_unclosed", "grid.spectrum", "power(", "power(", "power("},
        BadValue{"spectrum_unknown", "grid.spectrum", "isotropic, warp(2)", "warp(2)", "warp"},
        BadValue{"spectrum_missing_file", "grid.spectrum", "file(/nonexistent/eigs.txt)",
                 "file(/nonexistent/eigs.txt)", "/nonexistent/eigs.txt"},
        BadValue{"spectrum_spike_beyond_d", "grid.spectrum", "spiked(5, 10)", "spiked(5, 10)",
                 "k must"},
        BadValue{"spectrum_too_long", "grid.spectrum", kLongSpectrum, kLongSpectrum,
                 "longer than 127"},
        BadValue{"spectrum_empty", "grid.spectrum", "", "", "the list is empty"},
        BadValue{"method_sgd", "train.method", "sgd", "sgd", "population"},
        BadValue{"integrator_rk4", "train.integrator", "rk4", "rk4", "unknown integrator"},
        BadValue{"tol_inf", "train.tol", "inf", "inf", "not a finite number"},
        BadValue{"tol_negative", "train.tol", "-1e-3", "-1e-3", "must be >= 0"},
        BadValue{"tol_empty", "train.tol", "", "", "a number is missing"},
        BadValue{"t_max_zero", "train.t_max", "0", "0", "must be > 0"},
        BadValue{"trajectory_points_one", "train.trajectory_points", "1", "1", "must be >= 2"},
        BadValue{"trajectory_points_too_many", "train.trajectory_points", "100001", "100001",
                 "must be <= 100000"},
        BadValue{"max_steps_zero", "train.max_steps", "0", "0", "must be >= 1"},
        BadValue{"rtol_one", "train.rtol", "1", "1", "< 1"},
        BadValue{"rtol_zero", "train.rtol", "0", "0", "> 0"},
        BadValue{"m_test_zero", "eval.m_test", "0", "0", "must be >= 1"},
        BadValue{"m_test_word", "eval.m_test", "n, x", "x", "not a finite number"},
        BadValue{"m_test_too_large", "eval.m_test", "n, 1000001", "1000001",
                 "test prompts of 1000001 rows are too large; the limit is 1000000"},
        BadValue{"m_test_range_too_large", "eval.m_test", "1:1e7:*10", "1:1e7:*10",
                 "test prompts of 10000000 rows"},
        BadValue{"m_test_beyond_int", "eval.m_test", "3000000000", "3000000000", "too large"},
        BadValue{"mc_prompts_negative", "eval.mc_prompts", "-5", "-5", "must be >= 0"},
        BadValue{"mc_prompts_list", "eval.mc_prompts", "1, 2", "1, 2", "not a finite number"},
        BadValue{"mc_prompts_beyond_int32", "eval.mc_prompts", "2147483648", "2147483648",
                 "must be <= 2147483647: the results file stores it as a 32-bit integer"},
        BadValue{"knn_k_negative", "eval.knn_k", "-1", "-1", "must be >= 0"},
        BadValue{"target_rel_se_negative", "eval.target_rel_se", "-0.01", "-0.01", "must be in [0, 1)"},
        BadValue{"target_rel_se_one", "eval.target_rel_se", "1", "1", "must be in [0, 1)"},
        BadValue{"knn_k_too_large", "eval.knn_k", "1000001", "1000001", "must be <= 1000000"},
        BadValue{"ridge_lambda_zero", "eval.ridge_lambda", "0", "0", "must be > 0"},
        BadValue{"shift_negative_scale", "eval.shift", "covariate_scale(-1)", "covariate_scale(-1)",
                 "positive"},
        BadValue{"shift_unknown", "eval.shift", "none, bogus", "bogus", "unknown shift"},
        BadValue{"shift_scale_overflows", "eval.shift", "covariate_scale(1e308)", "covariate_scale(1e308)",
                 "must be at most 1e+06 in size"},
        BadValue{"shift_noise_overflows", "eval.shift", "none, label_noise(1e155)", "label_noise(1e155)",
                 "must be at most 1e+06 in size"},
        BadValue{"shift_scale_vanishes", "eval.shift", "query_scale(1e-9)", "query_scale(1e-9)",
                 "must be at least 1e-06"},
        BadValue{"shift_expanded_too_long", "eval.shift", kLongShift, kLongShift, "longer than 95"},
        BadValue{"seed_negative", "sweep.seed", "-3", "-3", "unsigned 64-bit"},
        BadValue{"target_predictors_unknown", "eval.target_predictors", "model, bogus", "bogus", "no such predictor (model, lsa_limit"},
        BadValue{"target_predictors_twice", "eval.target_predictors", "ols, ols", "ols, ols", "lists ols twice"},
        BadValue{"seed_fraction", "sweep.seed", "1.5", "1.5", "unsigned 64-bit"},
        BadValue{"seed_overflow", "sweep.seed", "18446744073709551616", "18446744073709551616",
                 "exceeds"},
        BadValue{"name_empty", "sweep.name", "", "", "must not be empty"},
        BadValue{"output_empty", "sweep.output", "", "", "must not be empty"}),
    [](const testing::TestParamInfo<BadValue>& p) { return p.param.label; });

TEST(Config, SizeLimitsAreInclusive) {
  const SweepConfig c = parse(
      "[grid]\nd = 4096\nn_train = 8\nspectrum = random_exp\n"
      "[train]\ntrajectory_points = 100000\n"
      "[eval]\nm_test = 12207\nmc_prompts = 2147483647\nknn_k = 1000000\n");
  EXPECT_EQ(c.d, (std::vector<int>{4096}));
  EXPECT_EQ(c.m_test, (std::vector<int>{12207}));  // 12207 x 4096 = 49999872 <= 5e7
  EXPECT_EQ(c.flow.trajectory_points, 100000);
  EXPECT_EQ(c.mc.prompts, 2147483647);
  EXPECT_EQ(c.knn_k, (std::vector<int>{1000000}));
  // m_test = 1000000 is allowed with d = 50: exactly 5e7 entries.
  EXPECT_EQ(parse("[grid]\nd = 50\nn_train = 8\n[eval]\nm_test = 1000000\n").m_test,
            (std::vector<int>{1000000}));
}

TEST(Config, PromptMatrixTooLarge) {
  // The largest d of the grid counts, whichever d is listed first.
  EXPECT_EQ(error_of("[grid]\nd = 4, 4096\nn_train = 8\nspectrum = random_exp\n"
                     "[eval]\nm_test = n, 12208\n"),
            "bad.ini: [eval] m_test = 12208: the prompt matrix would be too large: m_test x d = "
            "12208 x 4096 = 50003968 entries; the limit is 5e7");
  const std::string range = error_of("[grid]\nd = 100\nn_train = 8\n[eval]\nm_test = 1:1e6:*10\n");
  EXPECT_TRUE(contains(range, "bad.ini: [eval] m_test = 1:1e6:*10: the prompt matrix")) << range;
  // The same value on the command line is reported against the command line.
  const std::string cli = error_of("[grid]\nd = 100\nn_train = 8\n", {{"eval.m_test", "600000"}});
  EXPECT_TRUE(contains(cli, "command line: [eval] m_test = 600000: the prompt matrix")) << cli;
}

TEST(Config, PromptOfNTrainTooLarge) {
  // m_test = n (the default) means prompts of n_train rows.
  EXPECT_EQ(error_of("[grid]\nd = 4\nn_train = 8, 2000000\n"),
            "bad.ini: [eval] m_test = n: with n_train up to 2000000, test prompts of 2000000 rows "
            "are too large; the limit is 1000000");
  const std::string msg = error_of("[grid]\nd = 1000\nn_train = 60000\n[eval]\nm_test = 10, n\n");
  EXPECT_TRUE(contains(msg, "bad.ini: [eval] m_test = n: with n_train up to 60000, the prompt "
                            "matrix would be too large"))
      << msg;
  // An explicit m_test leaves a large n_train alone.
  EXPECT_EQ(parse("[grid]\nd = 4\nn_train = 2000000\n[eval]\nm_test = 10\n").n_train,
            (std::vector<int>{2000000}));
}

TEST(Config, GridWithTooManyTrainingRuns) {
  EXPECT_EQ(error_of("[grid]\nd = 4\nn_train = 1:1000:1\nsigma = 0.001:1:0.001\n"
                     "init_seed = 0:999:1\n"),
            "bad.ini: [grid] n_train = 1:1000:1: the grid has 1e+09 training runs, 1e+09 rows "
            "(about 728 GB of results uncompressed); the limit is 1e8 training runs");
}

TEST(Config, GridWithTooManyRows) {
  // 1e8 training runs and 1e10 rows are allowed; one more m_test value is not.
  const std::string grid = "[grid]\nd = 4\nn_train = 1:10000:1\ninit_seed = 0:9999:1\n";
  const SweepConfig c = parse(grid + "[eval]\nm_test = 1:100:1\n");
  EXPECT_EQ(c.n_train.size() * c.init_seed.size() * c.m_test.size(), 10'000'000'000u);
  // n_train and init_seed have 10000 values each: the first of them is named.
  EXPECT_EQ(error_of(grid + "[eval]\nm_test = 1:101:1\n"),
            "bad.ini: [grid] n_train = 1:10000:1: the grid has 1.01e+10 rows (about 7.4 TB of "
            "results uncompressed); the limit is 1e10 rows");
  // Shifts multiply the rows too; the key with the most values is named.
  EXPECT_EQ(error_of("[grid]\nd = 4\nn_train = 1:100:1\ninit_seed = 0:99999:1\n"
                     "[eval]\nm_test = 1:1000:1\nshift = covariate_scale(1, 2)\n"),
            "bad.ini: [grid] init_seed = 0:99999:1: the grid has 2e+10 rows (about 15 TB of "
            "results uncompressed); the limit is 1e10 rows");
}

TEST(Config, GridSizeDoesNotOverflow) {
  // 1e15 runs x 1e5 conditions = 1e20 rows, beyond 2^64: counted in floating point.
  const std::string msg =
      error_of("[grid]\nd = 4\nn_train = 1:100000:1\nsigma = 1:100000:1\ninit_seed = 0:99999:1\n"
               "[eval]\nm_test = 1:100000:1\n");
  EXPECT_EQ(msg, "bad.ini: [grid] n_train = 1:100000:1: the grid has 1e+15 training runs, 1e+20 "
                 "rows (about 73 ZB of results uncompressed); the limit is 1e8 training runs");
}

TEST(Config, GridSizeNamesTheCommandLine) {
  EXPECT_EQ(error_of(kMinimal, {{"grid.n_train", "1:1000:1"}, {"grid.init_seed", "0:999999:1"}}),
            "command line: [grid] init_seed = 0:999999:1: the grid has 1e+09 training runs, 1e+09 "
            "rows (about 728 GB of results uncompressed); the limit is 1e8 training runs");
}

TEST(Config, UnknownKeyInKnownSection) {
  const std::string msg = error_of(std::string(kMinimal) + "colour = blue\n");
  EXPECT_EQ(msg, "bad.ini: [grid] colour = blue: unknown key");
}

TEST(Config, UnknownSectionKey) {
  EXPECT_EQ(error_of("foo.bar = 3\n" + std::string(kMinimal)),
            "bad.ini: [foo] bar = 3: unknown key");
  EXPECT_EQ(error_of(std::string(kMinimal) + "[foo]\nbar = 4\n"),
            "bad.ini: [foo] bar = 4: unknown key");
}

TEST(Config, DuplicateKey) {
  const std::string msg = error_of("[grid]\nd = 3\nn_train = 10\nd = 5\n");
  EXPECT_EQ(msg, "bad.ini: [grid] d = 5: duplicate key");
}

TEST(Config, RequiredKeysMissing) {
  EXPECT_EQ(error_of("[grid]\nd = 3\n"), "bad.ini: [grid] n_train = : required key is missing");
  EXPECT_EQ(error_of("[grid]\nn_train = 3\n"), "bad.ini: [grid] d = : required key is missing");
}

TEST(Config, InvalidLine) {
  const std::string msg = error_of(std::string(kMinimal) + "just words\n");
  EXPECT_TRUE(contains(msg, "bad.ini: [grid] ")) << msg;
  EXPECT_TRUE(contains(msg, "just words")) << msg;
}

TEST(Config, OverrideOfUnknownKey) {
  EXPECT_EQ(error_of(kMinimal, {{"grid.colour", "blue"}}),
            "command line: [grid] colour = blue: unknown key");
  EXPECT_EQ(error_of(kMinimal, {{"foo.bar", "1"}}), "command line: [foo] bar = 1: unknown key");
}

TEST(Config, OverrideThatIniCannotStore) {
  const std::string msg = error_of(kMinimal, {{"sweep.name", "a#b"}});
  EXPECT_TRUE(contains(msg, "command line: [sweep] name = a#b: ")) << msg;
}

TEST(Config, EveryKeyIsListedOnce) {
  const auto& keys = icl::config_keys();
  EXPECT_EQ(keys.size(), 36u);
  for (const auto& key : keys) {
    EXPECT_EQ(std::count(keys.begin(), keys.end(), key), 1) << key;
    std::string line = key.substr(key.find('.') + 1);
    line.insert(0, 1, '\n');  // GCC 12 warns falsely (-Wrestrict) on "\n" + std::string&&
    line += " = ";
    EXPECT_TRUE(contains(parse(kMinimal).to_ini(), line)) << key;
  }
}

}  // namespace

// Every declared key round-trips through to_ini(): a config with every key set away from its
// default reads back as the same text, and every key appears in it once.
TEST(Config, EveryKeyRoundTripsThroughToIni) {
  const std::map<std::string, std::string> values = {
      {"sweep.name", "round"},        {"sweep.seed", "18446744073709551615"},
      {"sweep.output", "x/y.h5"},     {"grid.d", "2, 3:7:2"},
      {"grid.n_train", "5, 1:4:*2"},  {"grid.spectrum", "power(1), spiked(1, 3), random_gamma(2)"},
      {"grid.sigma", "0.1:0.3:0.1"},  {"grid.init_seed", "4, 2"},  {"grid.train_noise", "0, 0.5"},
      {"train.method", "population"}, {"train.integrator", "rk45"},
      {"train.tol", "1e-6"},          {"train.t_max", "12.5"},
      {"train.trajectory_points", "7"}, {"train.max_steps", "1000"},
      {"train.rtol", "1e-5"},         {"eval.m_test", "n, 3, 9"},
      {"eval.shift", "none, covariate_scale(0.5, 2), half_subspace"},
      {"eval.mc_prompts", "17"},      {"eval.ridge_lambda", "0.25"}, {"eval.target_predictors", "ols, model"},
      {"eval.target_rel_se", "0.005"},
      {"eval.knn_k", "4"},            {"grid.model", "flow, lsa, linear_transformer(2), gpt2(2, 2, 8)"},
      {"train.lr", "1e-3, 0.01"},     {"train.steps", "5, 1:100:*10"},
      {"train.batch", "8"},           {"train.optimizer", "adamw"},
      {"train.lr_schedule", "cosine"}, {"train.clip", "2.5"}, {"train.init", "gaussian(0.5)"},
      {"train.curriculum", "garg(50)"}, {"train.threads", "2"},
      {"train.device", "cuda:1"},       {"train.precision", "tf32"},
      {"train.checkpoint_seconds", "12.5"}};
  for (const auto& key : icl::config_keys()) EXPECT_TRUE(values.count(key)) << key << " has no test value";
  Overrides overrides(values.begin(), values.end());
  const SweepConfig c = parse_config("", "round.ini", overrides);
  const std::string ini = c.to_ini();
  const SweepConfig back = parse_config(ini, "stored", {});
  EXPECT_EQ(back.to_ini(), ini);
  EXPECT_TRUE(icl::config_differences(ini, back.to_ini()).empty());
  for (const auto& key : icl::config_keys()) {
    const std::string line = key.substr(key.find('.') + 1) + " = ";
    EXPECT_NE(ini.find('\n' + line), std::string::npos) << key;
  }
  // Values, not only text: a few that differ from the defaults.
  EXPECT_EQ(back.seed, 18446744073709551615ULL);
  EXPECT_EQ(back.flow.integrator, icl::Integrator::rk45);
  EXPECT_EQ(back.flow.max_steps, 1000);
  EXPECT_EQ(back.knn_k, (std::vector<int>{4}));
  EXPECT_TRUE(back.mc.target_waits[icl::index_of(icl::Predictor::ols)] && back.mc.target_waits[icl::index_of(icl::Predictor::model)]);
  EXPECT_FALSE(back.mc.target_waits[icl::index_of(icl::Predictor::ridge)] || back.mc.target_waits[icl::index_of(icl::Predictor::knn)]);
  EXPECT_EQ(back.shift.size(), 4u);
  EXPECT_EQ(back.n_train, (std::vector<int>{5, 1, 2, 4}));
  EXPECT_EQ(back.model.size(), 4u);
  EXPECT_EQ(back.model[3].width, 8);
  EXPECT_EQ(back.steps, (std::vector<std::int64_t>{5, 1, 10, 100}));
  EXPECT_EQ(back.init, (std::vector<std::string>{"gaussian(0.5)"}));
  EXPECT_EQ(back.optimizer, (std::vector<icl::TrainOptions::Optimizer>{icl::TrainOptions::Optimizer::adamw}));
  EXPECT_EQ(back.batch, (std::vector<int>{8}));
  EXPECT_EQ(back.train.curriculum_every, 50);
  // A GPU config is read, stored and --dry-run on a machine without one: each rank checks its
  // device when the sweep starts (tests/bad_configs/train_device_cuda.ini).
  EXPECT_EQ(back.train.device, "cuda:1");
  EXPECT_EQ(back.train.precision, icl::TrainOptions::Precision::tf32);
}

// --describe-keys and --help take their defaults from the struct's initialisers.
TEST(Config, TableDefaultsAreTheStructDefaults) {
  const SweepConfig defaults = parse(kMinimal);
  for (const auto& key : icl::config_key_table()) {
    if (!key.literal_default) continue;
    const std::string line = key.name.substr(key.name.find('.') + 1) + " = " + key.default_text + '\n';
    EXPECT_NE(defaults.to_ini().find('\n' + line), std::string::npos) << key.name << " [" << key.default_text << "]";
  }
  EXPECT_EQ(defaults.flow.tol, icl::FlowOptions{}.tol);
  EXPECT_EQ(defaults.mc.prompts, icl::McSettings{}.prompts);
}

// Deadlines that cannot be kept are bad input (exit 2 before anything is written): an empty value,
// one beyond a century (which wrapped the clock into the past and stopped at once), an epoch past
// long long, and a calendar time that does not exist (mktime would carry 30 February into March).
TEST(CommandLine, DeadlinesThatCannotBeKeptAreRefused) {
  const auto parse = [](std::vector<std::string> args) {
    args.insert(args.begin(), "icl-sweep");
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    std::optional<std::string> info;
    return icl::parse_command_line(static_cast<int>(argv.size()), argv.data(), info);
  };
  const auto refused = [&](std::vector<std::string> args, const std::string& says) {
    try {
      parse(args);
    } catch (const icl::CommandLineError& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
      return true;
    }
    return false;
  };
  EXPECT_TRUE(refused({"--config", "x.ini", "--stop-after", ""}, "--stop-after: empty"));
  EXPECT_TRUE(refused({"--config", "x.ini", "--stop-at", ""}, "--stop-at: empty"));
  EXPECT_TRUE(refused({"--config", "x.ini", "--stop-after", "99999999999999999999d"}, "more than 100 years away"));
  EXPECT_TRUE(refused({"--config", "x.ini", "--stop-after", "36526d"}, "more than 100 years away"));
  EXPECT_TRUE(refused({"--config", "x.ini", "--stop-at", "@99999999999999999999"}, "not a time"));
  EXPECT_TRUE(refused({"--config", "x.ini", "--stop-at", "@9999999999999"}, "more than 100 years away"));
  EXPECT_TRUE(refused({"--config", "x.ini", "--stop-at", "2099-02-30T00:00"}, "not a time"));
  EXPECT_TRUE(refused({"--config", "x.ini", "--stop-at", "2099-04-01T24:00"}, "not a time"));
  // Deadlines that can be kept still parse.
  EXPECT_TRUE(parse({"--config", "x.ini", "--stop-after", "36000d"}).deadline.has_value());
  EXPECT_TRUE(parse({"--config", "x.ini", "--stop-at", "2099-02-28T23:59:59"}).deadline.has_value());
  EXPECT_FALSE(parse({"--config", "x.ini"}).deadline.has_value());
}

// train.device = cuda: each rank trains on the GPU of its node-local rank modulo the GPUs it sees
// (under --gpus-per-task=1 it sees its own alone); cuda:N pins one.
TEST(Config, EachRankTrainsOnTheGpuOfItsNodeLocalRank) {
  const icl::DeviceRequest cuda = icl::parse_device("cuda");
  EXPECT_EQ(icl::rank_device(cuda, 0, 4), "cuda:0");
  EXPECT_EQ(icl::rank_device(cuda, 3, 4), "cuda:3");
  EXPECT_EQ(icl::rank_device(cuda, 5, 4), "cuda:1");
  EXPECT_EQ(icl::rank_device(cuda, 3, 1), "cuda:0");
  EXPECT_EQ(icl::rank_device(icl::parse_device(" cuda:2 "), 5, 4), "cuda:2");
  EXPECT_EQ(icl::rank_device(icl::parse_device("cpu"), 5, 4), "cpu");
  for (const char* bad : {"gpu", "cuda:", "cuda:-1", "cuda:1x", "CUDA", "cuda:0:1"})
    EXPECT_THROW(icl::parse_device(bad), icl::InputError) << bad;
}
