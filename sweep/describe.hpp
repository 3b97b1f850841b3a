#pragma once
#include <string>

namespace icl {

// The tables users read, made from the declarations themselves (the key table of
// sweep_config.cpp, the column list of result_row.hpp, the core's predictors and catalogues).
// The same text is in docs/interface.md; a test keeps the two equal.
std::string describe_keys();     // Markdown: | key | meaning | default |
std::string describe_columns();  // Markdown: | column | type | meaning |
// JSON: every predictor (src/predictors.hpp) with its name, label, estimation and columns; the
// Python package reads it from icl_sweep/predictors.json, which a test keeps equal to this.
std::string describe_predictors();
// JSON: the grid's axes (config/grid_axes.hpp) in row order with their key, column and kind;
// the Python package reads them from icl_sweep/axes.json, which a test keeps equal to this.
std::string describe_axes();
std::string list_shifts();       // one line each: name, meaning
std::string list_spectra();      // one line each: name, meaning
std::string list_models();       // one line each: name, meaning

}  // namespace icl
