#include "describe.hpp"

#include <algorithm>

#include "covariance.hpp"
#include "model_spec.hpp"
#include "config/result_row.hpp"
#include "shifts.hpp"
#include "config/sweep_config.hpp"

namespace icl {
namespace {

// Markdown table cells cannot hold a bare '|'.
std::string cell(std::string s) {
  for (std::size_t at = s.find('|'); at != std::string::npos; at = s.find('|', at + 2)) s.replace(at, 1, "\\|");
  return s;
}

std::string catalogue(const std::vector<CatalogueEntry>& entries) {
  std::size_t width = 0;
  for (const auto& e : entries) width = std::max(width, e.name.size());
  std::string out;
  for (const auto& e : entries) out += e.name + std::string(width + 2 - e.name.size(), ' ') + e.meaning + "\n";
  return out;
}

}  // namespace

std::string describe_keys() {
  std::string out = "| key | meaning | default |\n|---|---|---|\n";
  for (const ConfigKey& k : config_key_table())
    out += "| `" + k.name + "` | " + cell(k.meaning) + (k.list ? " (list)" : "") + " | " +
           (k.literal_default ? "`" + k.default_text + "`" : k.default_text) + " |\n";
  return out;
}

std::string describe_columns() {
  std::string out = "| column | type | meaning |\n|---|---|---|\n";
  for (const Column& c : kColumns)
    out += "| `" + std::string(c.name) + "` | " + type_name(c) + " | " + cell(std::string(c.meaning)) + " |\n";
  return out;
}

std::string list_shifts() { return catalogue(shift_catalogue()); }
std::string list_spectra() { return catalogue(spectrum_catalogue()); }
std::string list_models() { return catalogue(model_catalogue()); }

}  // namespace icl
