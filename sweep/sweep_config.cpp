#include "sweep_config.hpp"

#include <algorithm>
#include <boost/program_options.hpp>
#include <cctype>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

#include "call_syntax.hpp"
#include "covariance.hpp"
#include "input_error.hpp"

namespace icl {
namespace {

namespace po = boost::program_options;
using Overrides = std::vector<std::pair<std::string, std::string>>;

// The results file stores these as fixed-length strings of this many characters plus a NUL.
constexpr std::size_t kSpectrumChars = 127;
constexpr std::size_t kShiftChars = 47;
// A typo such as 0:1e9:1 would otherwise exhaust memory before anything reports it.
constexpr std::size_t kMaxRangeValues = 1'000'000;
// Far beyond any feasible run, and exactly representable as a double, so the bound check is exact.
constexpr std::int64_t kMaxSteps = 1'000'000'000'000'000'000;
// Each run builds d x d matrices (and Monte-Carlo prompts of m_test x d); beyond these sizes a
// run cannot finish, or exhausts memory, long after the sweep has started.
constexpr int kMaxDimension = 4096;
constexpr int kMaxTestPrompt = 1'000'000;
constexpr double kMaxPromptEntries = 5e7;  // m_test x d
constexpr int kMaxTrajectoryPoints = 100'000;
constexpr int kMaxKnnK = 1'000'000;
// Grids beyond these cannot be run or stored; the estimate of the file size uses kRowBytes.
constexpr double kMaxRuns = 1e8;
constexpr double kMaxRows = 1e10;
constexpr double kRowBytes = 450.0;
const std::string kCommandLine = "command line";

std::pair<std::string, std::string> split_key(const std::string& full) {
  const auto dot = full.find('.');
  if (dot == std::string::npos) return {"", full};
  return {full.substr(0, dot), full.substr(dot + 1)};
}

// One key's text and where it came from: the config's label, or the command line.
struct Entry {
  std::string key;  // "section.key"
  std::string text;
  std::string origin;
};

[[noreturn]] void fail(const Entry& e, const std::string& value, const std::string& reason) {
  const auto [section, key] = split_key(e.key);
  throw ConfigError(e.origin, section, key, value, reason);
}

// The lines of an INI text as Boost's config parser reads them (comments stripped, trimmed),
// each with the key prefix of its section ("grid." or ""). Boost's exceptions name the key
// but not the value or the section, and messages must quote them.
struct RawLine {
  std::string prefix;
  std::string content;
};

std::vector<RawLine> raw_lines(const std::string& text) {
  std::vector<RawLine> lines;
  std::istringstream in(text);
  std::string prefix, line;
  while (std::getline(in, line)) {
    const std::string s = trim(std::string_view(line).substr(0, line.find('#')));
    if (s.empty()) continue;
    if (s.front() == '[' && s.back() == ']') {
      prefix = s.substr(1, s.size() - 2);
      if (!prefix.empty() && prefix.back() != '.') prefix += '.';
    } else {
      lines.push_back({prefix, s});
    }
  }
  return lines;
}

// The value of the occurrence-th (0-based) `key = value` line for `full_key`, or "".
std::string raw_value(const std::string& text, const std::string& full_key, int occurrence) {
  for (const auto& line : raw_lines(text)) {
    const auto eq = line.content.find('=');
    if (eq == std::string::npos) continue;
    if (line.prefix + trim(std::string_view(line.content).substr(0, eq)) != full_key) continue;
    if (occurrence-- == 0) return trim(std::string_view(line.content).substr(eq + 1));
  }
  return {};
}

std::string raw_section(const std::string& text, const std::string& content) {
  for (const auto& line : raw_lines(text))
    if (line.content == content)
      return line.prefix.empty() ? "" : line.prefix.substr(0, line.prefix.size() - 1);
  return {};
}

std::map<std::string, Entry> read_ini(const std::string& text, const std::string& label) {
  po::options_description description;
  for (const auto& key : config_keys())
    description.add_options()(key.c_str(), po::value<std::string>());
  std::istringstream in(text);
  po::variables_map vm;
  try {
    po::store(po::parse_config_file(in, description, false), vm);
  } catch (const po::unknown_option& e) {
    const std::string name = e.get_option_name();
    const auto [section, key] = split_key(name);
    throw ConfigError(label, section, key, raw_value(text, name, 0), "unknown key");
  } catch (const po::multiple_occurrences& e) {
    const std::string name = e.get_option_name();
    const auto [section, key] = split_key(name);
    throw ConfigError(label, section, key, raw_value(text, name, 1), "duplicate key");
  } catch (const po::invalid_config_file_syntax& e) {
    throw ConfigError(label, raw_section(text, e.tokens()), "", "", e.what());
  } catch (const po::error& e) {
    throw ConfigError(label, "", "", "", e.what());
  }
  std::map<std::string, Entry> entries;
  for (const auto& [key, value] : vm) entries[key] = Entry{key, value.as<std::string>(), label};
  return entries;
}

// Splits at commas outside parentheses, so `spiked(2, 10)` stays one item.
std::vector<std::string> split_list(const Entry& e) {
  if (trim(e.text).empty()) fail(e, "", "the list is empty");
  std::vector<std::string> items;
  std::string item;
  int depth = 0;
  for (const char c : e.text) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      items.push_back(trim(item));
      item.clear();
    } else {
      item += c;
    }
  }
  items.push_back(trim(item));
  for (const auto& i : items)
    if (i.empty()) fail(e, trim(e.text), "empty list item");
  return items;
}

std::string shortest(double v) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, v);
  return std::string(buffer, result.ptr);
}

double round15(double v) {
  char buffer[32];
  const auto end =
      std::to_chars(buffer, buffer + sizeof buffer, v, std::chars_format::general, 15).ptr;
  double rounded = v;
  std::from_chars(buffer, end, rounded);
  return rounded;
}

// `part` is a piece of `item` (a range bound or step); the message quotes the whole item.
double number(const Entry& e, const std::string& part, const std::string& item) {
  const std::string t = trim(part);
  if (t.empty()) fail(e, item, "a number is missing");
  try {
    return parse_number(t, e.key);
  } catch (const InputError&) {
    fail(e, item, t == item ? "not a finite number" : "'" + t + "' is not a finite number");
  }
}

struct Number {
  double value;
  std::string item;  // the list item it came from, for messages
};

// One list item: a number, `a:b:s` or `a:b:*f`.
std::vector<Number> expand_item(const Entry& e, const std::string& item) {
  const auto c1 = item.find(':');
  if (c1 == std::string::npos) return {Number{number(e, item, item), item}};
  const auto c2 = item.find(':', c1 + 1);
  if (c2 == std::string::npos || item.find(':', c2 + 1) != std::string::npos)
    fail(e, item, "a range is a:b:s or a:b:*f");
  const double a = number(e, item.substr(0, c1), item);
  const double b = number(e, item.substr(c1 + 1, c2 - c1 - 1), item);
  const std::string step = trim(std::string_view(item).substr(c2 + 1));
  const bool geometric = !step.empty() && step.front() == '*';
  const double s = number(e, geometric ? step.substr(1) : step, item);
  if (a > b) fail(e, item, "the range is empty: its start exceeds its end");
  if (geometric && !(s > 1.0)) fail(e, item, "the factor of a:b:*f must be > 1");
  if (geometric && !(a > 0.0)) fail(e, item, "the start of a:b:*f must be > 0");
  if (!geometric && !(s > 0.0)) fail(e, item, "the step of a:b:s must be > 0");
  // The tolerance keeps 0.1:0.3:0.1 at three values despite rounding; the value that lands
  // within it is snapped to the end. Rounding to 15 digits makes 0.1:0.5:0.1 give 0.3, not
  // 0.30000000000000004, since users select results by the values they meant.
  const double end = b + 1e-9 * std::max(std::abs(a), std::abs(b));
  std::vector<Number> values;
  for (int i = 0;; ++i) {
    const double v = geometric ? a * std::pow(s, i) : a + i * s;
    if (!(v <= end)) break;
    if (values.size() == kMaxRangeValues)
      fail(e, item, "the range has more than " + std::to_string(kMaxRangeValues) + " values");
    values.push_back(Number{std::min(round15(v), b), item});
  }
  return values;
}

std::vector<Number> numbers(const Entry& e) {
  std::vector<Number> values;
  for (const auto& item : split_list(e)) {
    auto expanded = expand_item(e, item);
    values.insert(values.end(), expanded.begin(), expanded.end());
  }
  return values;
}

Number scalar(const Entry& e) {
  const std::string t = trim(e.text);
  return Number{number(e, t, t), t};
}

// `why` explains the upper bound, when it is a limit of this program rather than of the type.
std::int64_t integer(const Entry& e, const Number& n, std::int64_t lo, std::int64_t hi,
                     const std::string& why = "") {
  if (n.value != std::floor(n.value))
    fail(e, n.item,
         n.item.find(':') == std::string::npos ? "not an integer"
                                               : "gives " + shortest(n.value) + ", not an integer");
  if (n.value < static_cast<double>(lo)) fail(e, n.item, "must be >= " + std::to_string(lo));
  if (n.value > static_cast<double>(hi))
    fail(e, n.item, "must be <= " + std::to_string(hi) + (why.empty() ? "" : ": " + why));
  return static_cast<std::int64_t>(n.value);
}

std::vector<int> int_list(const Entry& e, int lo, int hi = INT_MAX, const std::string& why = "") {
  std::vector<int> values;
  for (const auto& n : numbers(e)) values.push_back(static_cast<int>(integer(e, n, lo, hi, why)));
  return values;
}

int int_scalar(const Entry& e, int lo, int hi = INT_MAX, const std::string& why = "") {
  return static_cast<int>(integer(e, scalar(e), lo, hi, why));
}

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

// "54 TB": a byte count for messages.
std::string byte_size(double bytes) {
  static const char* const units[] = {"bytes", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  std::size_t u = 0;
  while (bytes >= 1000.0 && u + 1 < std::size(units)) {
    bytes /= 1000.0;
    ++u;
  }
  char text[64];
  std::snprintf(text, sizeof text, bytes < 10.0 ? "%.1f %s" : "%.0f %s", bytes, units[u]);
  return text;
}

// v to two significant digits, or as many more as it takes to show that v exceeds `limit`
// (1.01e+10, not 1e+10, for a count just above 1e10).
std::string estimate(double v, double limit = 0.0) {
  char text[32];
  for (int digits = 2; digits <= 17; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, v);
    if (!(v > limit) || std::strtod(text, nullptr) > limit) break;
  }
  return text;
}

// Refuses grids that cannot be run or stored, counting in floating point so that nothing
// overflows. The message names the grid key with the most values (the first on ties), the
// one to shorten.
void check_grid_size(const SweepConfig& c, const std::vector<Entry>& grid_keys) {
  const std::size_t sizes[] = {c.d.size(), c.n_train.size(), c.spectrum.size(), c.sigma.size(),
                               c.init_seed.size()};
  double runs = 1.0;
  for (const std::size_t n : sizes) runs *= static_cast<double>(n);
  const double rows = runs * static_cast<double>(c.m_test.size()) * static_cast<double>(c.shift.size());
  if (runs <= kMaxRuns && rows <= kMaxRows) return;
  const std::size_t widest = static_cast<std::size_t>(
      std::max_element(std::begin(sizes), std::end(sizes)) - std::begin(sizes));
  const Entry& e = grid_keys.at(widest);
  const std::string rows_size = " rows (about " + byte_size(rows * kRowBytes) + " of results)";
  if (runs > kMaxRuns)
    fail(e, trim(e.text),
         "the grid has " + estimate(runs, kMaxRuns) + " training runs, " + estimate(rows) +
             rows_size + "; the limit is 1e8 training runs");
  fail(e, trim(e.text),
       "the grid has " + estimate(rows, kMaxRows) + rows_size + "; the limit is 1e10 rows");
}

std::uint64_t unsigned64(const Entry& e) {
  const std::string t = trim(e.text);
  const auto digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
  if (t.empty() || !std::all_of(t.begin(), t.end(), digit))
    fail(e, t, "must be an unsigned 64-bit integer");
  std::uint64_t v = 0;
  if (std::from_chars(t.data(), t.data() + t.size(), v).ec != std::errc())
    fail(e, t, "exceeds the unsigned 64-bit range");
  return v;
}

std::string text_value(const Entry& e) {
  std::string t = trim(e.text);
  if (t.empty()) fail(e, t, "must not be empty");
  return t;
}

std::vector<std::string> spectra(const Entry& e, const std::vector<int>& dimensions) {
  std::vector<std::string> items = split_list(e);
  for (const auto& item : items) {
    if (item.size() > kSpectrumChars)
      fail(e, item, "longer than " + std::to_string(kSpectrumChars) + " characters");
    for (const int d : dimensions) {
      try {
        make_covariance(item, d);
      } catch (const InputError& x) {
        fail(e, item, x.what());
      }
    }
  }
  return items;
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

template <class T, class Format>
std::string join(const std::vector<T>& values, Format format) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ", ") + format(v);
  return out;
}

// Messages are printed as one line, and library reasons may quote file contents.
std::string one_line(std::string s) {
  std::replace_if(s.begin(), s.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return s;
}

std::string error_message(const std::string& file, const std::string& section,
                          const std::string& key, const std::string& value,
                          const std::string& reason) {
  std::string m = file + ": ";
  if (!section.empty()) m += "[" + section + "] ";
  if (!key.empty()) m += key + " = " + value + ": ";
  return one_line(m + reason);
}

}  // namespace

ConfigError::ConfigError(const std::string& file, const std::string& section,
                         const std::string& key, const std::string& value,
                         const std::string& reason)
    : std::runtime_error(error_message(file, section, key, value, reason)) {}

const std::vector<std::string>& config_keys() {
  static const std::vector<std::string> keys = {
      "sweep.name",         "sweep.seed",         "sweep.output",       "grid.d",
      "grid.n_train",       "grid.spectrum",      "grid.sigma",         "grid.init_seed",
      "train.method",       "train.integrator",   "train.tol",          "train.t_max",
      "train.trajectory_points", "train.max_steps", "train.rtol",       "eval.m_test",
      "eval.shift",         "eval.mc_prompts",    "eval.ridge_lambda",  "eval.knn_k"};
  return keys;
}

SweepConfig parse_config(const std::string& text, const std::string& name,
                         const Overrides& overrides) {
  const std::string label = name.empty() ? "embedded config" : name;
  std::map<std::string, Entry> entries = read_ini(text, label);
  const auto& keys = config_keys();
  for (const auto& [key, value] : overrides) {
    Entry e{key, trim(value), kCommandLine};
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) fail(e, e.text, "unknown key");
    // to_ini() must read back as the same config, and INI has no escape for these.
    if (e.text.find_first_of("#\n\r") != std::string::npos)
      fail(e, e.text, "a value cannot contain '#' or a line break");
    entries[key] = std::move(e);
  }
  const auto entry = [&](const std::string& key, const std::string& fallback) {
    const auto it = entries.find(key);
    return it != entries.end() ? it->second : Entry{key, fallback, label};
  };
  const auto required = [&](const std::string& key) {
    const auto it = entries.find(key);
    if (it == entries.end()) fail(Entry{key, "", label}, "", "required key is missing");
    return it->second;
  };

  SweepConfig c;
  c.source = name;
  std::string stem = std::filesystem::path(name).stem().string();
  c.name = text_value(entry("sweep.name", stem.empty() ? "demo" : stem));
  c.seed = unsigned64(entry("sweep.seed", "1"));
  c.output = text_value(entry("sweep.output", c.name + ".h5"));

  // In this order check_grid_size names the first of the keys with the most values.
  const std::vector<Entry> grid_keys = {required("grid.d"), required("grid.n_train"),
                                        entry("grid.spectrum", "isotropic"),
                                        entry("grid.sigma", "0.01"), entry("grid.init_seed", "0")};
  c.d = int_list(grid_keys[0], 1, kMaxDimension, "d x d matrices of this size are too large");
  c.n_train = int_list(grid_keys[1], 1);
  c.spectrum = spectra(grid_keys[2], c.d);
  const Entry& sigma = grid_keys[3];
  for (const auto& n : numbers(sigma)) {
    if (!(n.value > 0.0)) fail(sigma, n.item, "must be > 0");
    c.sigma.push_back(n.value);
  }
  c.init_seed = int_list(grid_keys[4], 0);

  const Entry method = entry("train.method", "population");
  c.method = text_value(method);
  if (c.method != "population") fail(method, c.method, "the only method is population");
  const Entry integrator = entry("train.integrator", "rosenbrock");
  try {
    c.integrator = parse_integrator(trim(integrator.text));
  } catch (const InputError& x) {
    fail(integrator, trim(integrator.text), x.what());
  }
  const Entry tol = entry("train.tol", "1e-8");
  c.tol = scalar(tol).value;
  if (!(c.tol >= 0.0)) fail(tol, trim(tol.text), "must be >= 0");
  const Entry t_max = entry("train.t_max", "1e9");
  c.t_max = scalar(t_max).value;
  if (!(c.t_max > 0.0)) fail(t_max, trim(t_max.text), "must be > 0");
  c.trajectory_points = int_scalar(entry("train.trajectory_points", "64"), 2, kMaxTrajectoryPoints,
                                   "each training run stores this many samples");
  const Entry max_steps = entry("train.max_steps", "100000000");
  c.max_steps = integer(max_steps, scalar(max_steps), 1, kMaxSteps);
  const Entry rtol = entry("train.rtol", "1e-7");
  c.rtol = scalar(rtol).value;
  if (!(c.rtol > 0.0 && c.rtol < 1.0)) fail(rtol, trim(rtol.text), "must be > 0 and < 1");

  c.m_test = m_test_list(entry("eval.m_test", "n"), c.d, c.n_train);
  c.shift = shifts(entry("eval.shift", "none"));
  c.mc_prompts = int_scalar(entry("eval.mc_prompts", "10000"), 0, INT_MAX,
                            "the results file stores it as a 32-bit integer");
  const Entry ridge = entry("eval.ridge_lambda", "0.1");
  c.ridge_lambda = scalar(ridge).value;
  if (!(c.ridge_lambda > 0.0)) fail(ridge, trim(ridge.text), "must be > 0");
  c.knn_k = int_scalar(entry("eval.knn_k", "3"), 1, kMaxKnnK,
                      "the nearest-neighbour baseline keeps k training points per query");
  check_grid_size(c, grid_keys);
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
  const auto integer_text = [](auto v) { return std::to_string(v); };
  std::string s;
  s += "[sweep]\n";
  s += "name = " + name + "\n";
  s += "seed = " + std::to_string(seed) + "\n";
  s += "output = " + output + "\n";
  s += "\n[grid]\n";
  s += "d = " + join(d, integer_text) + "\n";
  s += "n_train = " + join(n_train, integer_text) + "\n";
  s += "spectrum = " + join(spectrum, [](const std::string& v) { return v; }) + "\n";
  s += "sigma = " + join(sigma, shortest) + "\n";
  s += "init_seed = " + join(init_seed, integer_text) + "\n";
  s += "\n[train]\n";
  s += "method = " + method + "\n";
  s += "integrator = " + std::string(to_string(integrator)) + "\n";
  s += "tol = " + shortest(tol) + "\n";
  s += "t_max = " + shortest(t_max) + "\n";
  s += "trajectory_points = " + std::to_string(trajectory_points) + "\n";
  s += "max_steps = " + std::to_string(max_steps) + "\n";
  s += "rtol = " + shortest(rtol) + "\n";
  s += "\n[eval]\n";
  const auto m_text = [](int m) { return m == 0 ? std::string("n") : std::to_string(m); };
  s += "m_test = " + join(m_test, m_text) + "\n";
  s += "shift = " + join(shift, [](const Shift& v) { return v.text; }) + "\n";
  s += "mc_prompts = " + std::to_string(mc_prompts) + "\n";
  s += "ridge_lambda = " + shortest(ridge_lambda) + "\n";
  s += "knn_k = " + std::to_string(knn_k) + "\n";
  return s;
}

}  // namespace icl

namespace icl {
namespace {

std::map<std::string, std::string> ini_values(const std::string& text) {
  std::map<std::string, std::string> values;
  std::istringstream in(text);
  std::string line, section;
  while (std::getline(in, line)) {
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    if (t.front() == '[' && t.back() == ']') {
      section = t.substr(1, t.size() - 2);
      continue;
    }
    const auto eq = t.find('=');
    if (eq == std::string::npos) continue;
    values[section + "." + trim(t.substr(0, eq))] = trim(t.substr(eq + 1));
  }
  return values;
}

}  // namespace

std::vector<std::string> config_differences(const std::string& stored, const std::string& requested) {
  const auto a = ini_values(stored);
  const auto b = ini_values(requested);
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
