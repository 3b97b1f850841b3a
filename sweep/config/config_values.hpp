#pragma once
#include <climits>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace icl {

// A config value that cannot be used. what() is the one-line message the program prints:
//   "<file>: [<section>] <key> = <value>: <reason>"
struct ConfigError : std::runtime_error {
  ConfigError(const std::string& file, const std::string& section, const std::string& key,
              const std::string& value, const std::string& reason);
};

}  // namespace icl

// The pieces a config key's parser is made of: reading INI text, lists, numbers and ranges,
// each failure a ConfigError that quotes the value as written.
namespace icl::config {

// One key's text and where it came from: the config's label, or the command line.
struct Entry {
  std::string key;  // "section.key"
  std::string text;
  std::string origin;
};

std::pair<std::string, std::string> split_key(const std::string& full);  // {"grid", "d"}
[[noreturn]] void fail(const Entry& e, const std::string& value, const std::string& reason);

// Every `key = value` of INI text as "section.key" -> value, the last of duplicates, unknown keys
// included and nothing checked: for comparing stored configs (the same reader as read_ini's
// messages: comments stripped, trimmed).
std::map<std::string, std::string> ini_values(const std::string& text);
// The `keys` present in INI text, through Boost.Program_options; unknown and duplicate keys and
// syntax errors are ConfigErrors naming `label`, the section, the key and the value.
std::map<std::string, Entry> read_ini(const std::string& text, const std::string& label,
                                      const std::vector<std::string>& keys);

// Splits at commas outside parentheses, so `spiked(2, 10)` stays one item.
std::vector<std::string> split_list(const Entry& e);

struct Number {
  double value;
  std::string item;  // the list item it came from, for messages
};
// One list item: a number, `a:b:s` or `a:b:*f`.
std::vector<Number> expand_item(const Entry& e, const std::string& item);
std::vector<Number> numbers(const Entry& e);  // every item, expanded
Number scalar(const Entry& e);
// `why` explains the upper bound, when it is a limit of this program rather than of the type.
std::int64_t integer(const Entry& e, const Number& n, std::int64_t lo, std::int64_t hi,
                     const std::string& why = "");
std::vector<int> int_list(const Entry& e, int lo, int hi = INT_MAX, const std::string& why = "");
int int_scalar(const Entry& e, int lo, int hi = INT_MAX, const std::string& why = "");
std::uint64_t unsigned64(const Entry& e);
std::string text_value(const Entry& e);  // trimmed, not empty

std::string byte_size(double bytes);  // "54 TB"
// v to two significant digits, or as many more as it takes to show that v exceeds `limit`.
std::string estimate(double v, double limit = 0.0);

template <class T, class Format>
std::string join(const std::vector<T>& values, Format format) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ", ") + format(v);
  return out;
}

}  // namespace icl::config
