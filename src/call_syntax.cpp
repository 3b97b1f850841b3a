#include "call_syntax.hpp"

#include <cctype>
#include <charconv>
#include <cmath>

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

}  // namespace icl
