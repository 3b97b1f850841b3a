#include "config/config_values.hpp"

#include <algorithm>
#include <boost/program_options.hpp>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <sstream>

#include "call_syntax.hpp"
#include "input_error.hpp"

namespace icl::config {
namespace {

namespace po = boost::program_options;

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

std::string error_message(const std::string& file, const std::string& section,
                          const std::string& key, const std::string& value,
                          const std::string& reason);

// A byte that text has no business holding: a control byte other than a tab or a line end.
bool control_byte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u < 0x20 && c != '\t' && c != '\n' && c != '\r') || u == 0x7f;
}

std::string control_escape(unsigned char u) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "\\x%02x", u);
  return buffer;
}

}  // namespace

std::pair<std::string, std::string> split_key(const std::string& full) {
  const auto dot = full.find('.');
  if (dot == std::string::npos) return {"", full};
  return {full.substr(0, dot), full.substr(dot + 1)};
}

[[noreturn]] void fail(const Entry& e, const std::string& value, const std::string& reason) {
  const auto [section, key] = split_key(e.key);
  throw ConfigError(e.origin, section, key, value, reason);
}

std::map<std::string, std::string> ini_values(const std::string& text) {
  std::map<std::string, std::string> values;
  for (const auto& line : raw_lines(text)) {
    const auto eq = line.content.find('=');
    if (eq == std::string::npos) continue;
    values[line.prefix + trim(std::string_view(line.content).substr(0, eq))] =
        trim(std::string_view(line.content).substr(eq + 1));
  }
  return values;
}

std::map<std::string, Entry> read_ini(const std::string& text, const std::string& label,
                                     const std::vector<std::string>& keys) {
  // Text has no control bytes but tabs and line ends: anything else is a binary file.
  const auto binary = std::find_if(text.begin(), text.end(), control_byte);
  if (binary != text.end()) {
    const auto at = static_cast<std::size_t>(binary - text.begin());
    const std::size_t newline = text.rfind('\n', at), start = newline == std::string::npos ? 0 : newline + 1;
    const auto line = 1 + std::count(text.begin(), binary, '\n');
    throw ConfigError(label, "", "", "", "not an INI file: line " + std::to_string(line) + " holds the byte " +
                                             control_escape(static_cast<unsigned char>(*binary)) + " (\"" +
                                             text.substr(start, 24) + "\")");
  }
  po::options_description description;
  for (const auto& key : keys)
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

// One list item: a number, `a:b:s` or `a:b:*f`.
std::vector<Number> expand_item(const Entry& e, const std::string& item) {
  std::vector<double> values;
  try {
    values = expand_range(item, kMaxRangeValues);
  } catch (const InputError& x) {
    fail(e, item, x.what());
  }
  std::vector<Number> numbers;
  for (const double v : values) numbers.push_back(Number{v, item});
  return numbers;
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
  try {
    return Number{parse_item_number(t, t), t};
  } catch (const InputError& x) {
    fail(e, t, x.what());
  }
}

// `why` explains the upper bound, when it is a limit of this program rather than of the type.
std::int64_t integer(const Entry& e, const Number& n, std::int64_t lo, std::int64_t hi,
                     const std::string& why) {
  if (n.value != std::floor(n.value))
    fail(e, n.item,
         n.item.find(':') == std::string::npos ? "not an integer"
                                               : "gives " + shortest(n.value) + ", not an integer");
  if (n.value < static_cast<double>(lo)) fail(e, n.item, "must be >= " + std::to_string(lo));
  if (n.value > static_cast<double>(hi))
    fail(e, n.item, "must be <= " + std::to_string(hi) + (why.empty() ? "" : ": " + why));
  return static_cast<std::int64_t>(n.value);
}

std::vector<int> int_list(const Entry& e, int lo, int hi, const std::string& why) {
  std::vector<int> values;
  for (const auto& n : numbers(e)) values.push_back(static_cast<int>(integer(e, n, lo, hi, why)));
  return values;
}

int int_scalar(const Entry& e, int lo, int hi, const std::string& why) {
  return static_cast<int>(integer(e, scalar(e), lo, hi, why));
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
std::string estimate(double v, double limit) {
  char text[32];
  for (int digits = 2; digits <= 17; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, v);
    if (!(v > limit) || std::strtod(text, nullptr) > limit) break;
  }
  return text;
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

namespace {

// Messages are printed as one line, and library reasons may quote file contents.
// A message on one line of plain text: line breaks become spaces, other control bytes (a binary
// file's) \xNN; UTF-8 passes.
std::string one_line(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (c == '\n' || c == '\r')
      out += ' ';
    else if (control_byte(c))
      out += control_escape(static_cast<unsigned char>(c));
    else
      out += c;
  }
  return out;
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

}  // namespace icl::config

namespace icl {

ConfigError::ConfigError(const std::string& file, const std::string& section,
                         const std::string& key, const std::string& value,
                         const std::string& reason)
    : std::runtime_error(config::error_message(file, section, key, value, reason)) {}

}  // namespace icl
