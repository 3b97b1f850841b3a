#include "call_syntax.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "input_error.hpp"

namespace icl {

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(first, last - first + 1));
}

static bool is_name(std::string_view s) {
  if (s.empty() || !(std::islower(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (!(std::islower(u) || std::isdigit(u) || c == '_')) return false;
  }
  return true;
}

Call parse_call(std::string_view text) {
  const std::string t = trim(text);
  Call call;
  const auto open = t.find('(');
  if (open == std::string::npos) {
    if (t.find(')') != std::string::npos) throw InputError("'" + t + "': unbalanced parentheses");
    call.name = t;
  } else {
    if (t.back() != ')') throw InputError("'" + t + "': expected ')' at the end");
    call.name = trim(std::string_view(t).substr(0, open));
    call.raw_args = trim(std::string_view(t).substr(open + 1, t.size() - open - 2));
    if (call.raw_args.find_first_of("()") != std::string::npos)
      throw InputError("'" + t + "': nested or unbalanced parentheses");
    if (call.raw_args.empty()) throw InputError("'" + t + "': empty argument list");
    std::string_view rest = call.raw_args;
    while (true) {
      const auto comma = rest.find(',');
      std::string arg = trim(rest.substr(0, comma));
      if (arg.empty()) throw InputError("'" + t + "': empty argument");
      call.args.push_back(std::move(arg));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (!is_name(call.name)) throw InputError("'" + t + "': not a valid name");
  return call;
}

void expect_arguments(const Call& call, std::size_t n, const std::string& where) {
  if (call.args.size() != n)
    throw InputError(where + ": " + call.name + " takes " + std::to_string(n) + (n == 1 ? " argument" : " arguments"));
}

double parse_number(std::string_view text, std::string_view what) {
  const std::string t = trim(text);
  double value = 0.0;
  const char* end = t.data() + t.size();
  const auto [ptr, ec] = std::from_chars(t.data(), end, value);
  if (t.empty() || ec != std::errc() || ptr != end)
    throw InputError(std::string(what) + ": '" + t + "' is not a number");
  if (!std::isfinite(value)) throw InputError(std::string(what) + ": '" + t + "' is not finite");
  return value;
}

namespace {

double round15(double v) {
  if (v == 0.0 || !std::isfinite(v)) return v;
  char text[32];
  std::snprintf(text, sizeof text, "%.15g", v);
  return std::strtod(text, nullptr);
}

}  // namespace

double parse_item_number(std::string_view part, std::string_view item) {
  const std::string t = trim(part);
  if (t.empty()) throw InputError("a number is missing");
  try {
    return parse_number(t, "");
  } catch (const InputError&) {
    throw InputError(t == trim(item) ? "not a finite number" : "'" + t + "' is not a finite number");
  }
}

bool is_range(std::string_view item) { return item.find(':') != std::string_view::npos; }

std::vector<double> expand_range(std::string_view text, std::size_t max_values) {
  const std::string item = trim(text);
  const auto c1 = item.find(':');
  if (c1 == std::string::npos) return {parse_item_number(item, item)};
  const auto c2 = item.find(':', c1 + 1);
  if (c2 == std::string::npos || item.find(':', c2 + 1) != std::string::npos)
    throw InputError("a range is a:b:s or a:b:*f");
  const double a = parse_item_number(item.substr(0, c1), item);
  const double b = parse_item_number(item.substr(c1 + 1, c2 - c1 - 1), item);
  const std::string step = trim(std::string_view(item).substr(c2 + 1));
  const bool geometric = !step.empty() && step.front() == '*';
  const double s = parse_item_number(geometric ? step.substr(1) : step, item);
  if (a > b) throw InputError("the range is empty: its start exceeds its end");
  if (geometric && !(s > 1.0)) throw InputError("the factor of a:b:*f must be > 1");
  if (geometric && !(a > 0.0)) throw InputError("the start of a:b:*f must be > 0");
  if (!geometric && !(s > 0.0)) throw InputError("the step of a:b:s must be > 0");
  // The tolerance keeps 0.1:0.3:0.1 at three values despite rounding; the value that lands
  // within it is snapped to the end.
  const double end = b + 1e-9 * std::max(std::abs(a), std::abs(b));
  std::vector<double> values;
  for (int i = 0;; ++i) {
    const double v = geometric ? a * std::pow(s, i) : a + i * s;
    if (!(v <= end)) break;
    if (values.size() == max_values)
      throw InputError("the range has more than " + std::to_string(max_values) + " values");
    values.push_back(std::min(round15(v), b));
  }
  return values;
}

std::string shortest(double v) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, v);
  return std::string(buffer, result.ptr);
}

std::vector<std::string> expand_call_ranges(std::string_view text, std::size_t max_values) {
  const Call call = parse_call(text);
  bool any = false;
  for (const std::string& arg : call.args) any = any || is_range(arg);
  if (!any) return {trim(text)};
  std::vector<std::vector<std::string>> choices;
  for (const std::string& arg : call.args) {
    std::vector<std::string> values;
    if (is_range(arg))
      for (const double v : expand_range(arg, max_values)) values.push_back(shortest(v));
    else
      values.push_back(arg);
    choices.push_back(std::move(values));
  }
  std::vector<std::string> calls = {""};
  for (const auto& values : choices) {
    std::vector<std::string> next;
    for (const std::string& head : calls)
      for (const std::string& v : values) next.push_back(head.empty() ? v : head + ", " + v);
    if (next.size() > max_values)
      throw InputError("the ranges make more than " + std::to_string(max_values) + " values");
    calls = std::move(next);
  }
  for (std::string& c : calls) c = call.name + "(" + c + ")";
  return calls;
}

}  // namespace icl
