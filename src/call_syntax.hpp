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

// A value that is a number or a range: `a:b:s` (a, a + s, ... <= b) or `a:b:*f` (a, a f, ... <= b),
// rounded to 15 significant digits (0.1:0.5:0.1 gives 0.3, not 0.30000000000000004) and the
// last snapped to b within rounding. Used by the config's lists and inside shift and spectrum
// parameters. Throws InputError whose what() is the reason alone ("a range is a:b:s or a:b:*f").
std::vector<double> expand_range(std::string_view item, std::size_t max_values);
bool is_range(std::string_view item);  // it has a ':'
// Values one range (a list item, or a shift's or a spectrum's parameter) may give at most: a typo
// such as 0:1e9:1 would otherwise exhaust memory before anything reports it.
inline constexpr std::size_t kMaxRangeValues = 1'000'000;
// `part` of `item` (a range bound or step, or the whole item) as a finite number. Throws
// InputError whose what() quotes the part when it is not the whole item.
double parse_item_number(std::string_view part, std::string_view item);

// The shortest text that reads back as v: `2`, `0.5`, `1e-06`.
std::string shortest(double v);

// A call whose arguments may be ranges, as the calls of every combination of their values
// (the first argument slowest): `geometric(10:1000:*10)` -> geometric(10), geometric(100),
// geometric(1000). Arguments that are no range are kept as written. Throws InputError.
std::vector<std::string> expand_call_ranges(std::string_view text, std::size_t max_values);

}  // namespace icl
