#include "describe.hpp"

#include <algorithm>
#include <string_view>

#include "covariance.hpp"
#include "model_spec.hpp"
#include "predictors.hpp"
#include "config/grid_axes.hpp"
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

// A JSON string: the texts here hold no control characters.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string_view quantity_name(Quantity q) {
  switch (q) {
    case Quantity::theory: return "theory";
    case Quantity::theory_se: return "theory_se";
    case Quantity::mc: return "mc";
    case Quantity::mc_se: return "mc_se";
    case Quantity::a_eff_theory: return "a_eff_theory";
    case Quantity::theory_else_mc: return "theory_else_mc";
  }
  return "?";
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

std::string describe_predictors() {
  std::string out = "{\"predictors\": [\n";
  for (std::size_t i = 0; i < kPredictors.size(); ++i) {
    const PredictorSpec& p = kPredictors[i];
    out += "  {\"name\": " + quoted(p.name) + ", \"label\": " + quoted(p.label) + ", \"estimation\": " +
           quoted(p.estimation == Estimation::linear ? "linear" : "sampled") + ", \"source\": " +
           quoted(p.source == Source::prompt ? "prompt" : "training_law") + ", \"columns\": [\n";
    std::string columns;
    for (const PredictorColumn& column : kPredictorColumns)
      if (column.predictor == p.id)
        columns += std::string(columns.empty() ? "" : ",\n") + "    {\"name\": " + quoted(column.name) +
                   ", \"quantity\": " + quoted(quantity_name(column.quantity)) + ", \"meaning\": " +
                   quoted(column.meaning) + "}";
    out += columns + "\n  ]}" + (i + 1 < kPredictors.size() ? ",\n" : "\n");
  }
  return out + "]}\n";
}

std::string describe_axes() {
  std::string out = "{\"axes\": [\n";
  for (std::size_t i = 0; i < kGridAxes.size(); ++i) {
    const GridAxis& a = kGridAxes[i];
    out += "  {\"name\": " + quoted(a.column) + ", \"key\": " + quoted(a.key) + ", \"kind\": " +
           quoted(a.kind == AxisKind::run ? "run" : "condition") + "}" + (i + 1 < kGridAxes.size() ? ",\n" : "\n");
  }
  return out + "]}\n";
}

std::string list_shifts() { return catalogue(shift_catalogue()); }
std::string list_spectra() { return catalogue(spectrum_catalogue()); }
std::string list_models() { return catalogue(model_catalogue()); }

}  // namespace icl
