#pragma once
#include <string>

namespace icl {

// The tables users read, made from the declarations themselves (the key table of
// sweep_config.cpp, the column list of result_row.hpp, the catalogues of the core). The
// same text is in docs/interface.md; a test keeps the two equal.
std::string describe_keys();     // Markdown: | key | meaning | default |
std::string describe_columns();  // Markdown: | column | type | meaning |
std::string list_shifts();       // one line each: name, meaning
std::string list_spectra();      // one line each: name, meaning
std::string list_models();       // one line each: name, meaning

}  // namespace icl
