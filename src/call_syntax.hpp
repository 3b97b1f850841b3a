#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace icl {

// A name with optional arguments, as written in a config: `power(1.5)`, `spiked(2, 10)`,
// `file(spectra/a.txt)`, `isotropic`.
struct Call {
  std::string name;
  std::vector<std::string> args;  // trimmed; empty when there were no parentheses
  std::string raw_args;           // the text between the parentheses, trimmed (paths)
};

// Throws InputError for an empty or malformed name, unbalanced parentheses, `name()`,
// or an empty argument.
Call parse_call(std::string_view text);

// Throws InputError "<where>: <name> takes n argument(s)" unless the call has n arguments.
void expect_arguments(const Call& call, std::size_t n, const std::string& where);

// Strict conversion of one argument: the whole text must be a finite number.
double parse_number(std::string_view text, std::string_view what);

std::string trim(std::string_view text);

}  // namespace icl
