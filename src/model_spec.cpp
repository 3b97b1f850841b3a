#include "model_spec.hpp"

#include <cmath>
#include <string>

#include "call_syntax.hpp"
#include "input_error.hpp"

namespace icl {
namespace {

// Beyond these a model cannot be trained on one node in any reasonable time.
constexpr int kMaxLayers = 64;
constexpr int kMaxHeads = 64;
constexpr int kMaxWidth = 4096;

// Every model, declared once: its name, how it is written, how many parameters, what it is.
struct ModelKind {
  ModelSpec::Kind kind;
  std::string_view name, written;
  std::size_t parameters;
  std::string_view meaning;
};
constexpr ModelKind kModelKinds[] = {
    {ModelSpec::Kind::flow, "flow", "flow", 0,
     "the reduced (u, U) LSA trained by gradient flow of the population loss (exact, no sampling)"},
    {ModelSpec::Kind::lsa, "lsa", "lsa", 0, "the full LSA layer, W^PV and W^KQ (d+1)x(d+1), trained on sampled prompts"},
    {ModelSpec::Kind::linear_transformer, "linear_transformer", "linear_transformer(L)", 1,
     "L residual LSA layers, the query masked as a key (Ahn et al.), on sampled prompts"},
    {ModelSpec::Kind::gpt2, "gpt2", "gpt2(layers, heads, width)", 3,
     "pre-LayerNorm GPT-2 blocks, learned positions, GELU MLP 4 x width, Garg et al.'s x/y tokens, on sampled prompts"},
};

int positive_integer(const Call& call, std::size_t i, int max, std::string_view spec, const char* what) {
  const double v = parse_number(call.args[i], "model '" + std::string(spec) + "'");
  if (!(v >= 1 && v <= max && v == std::floor(v)))
    throw InputError("model '" + std::string(spec) + "': " + what + " must be an integer in [1, " +
                     std::to_string(max) + "], not " + call.args[i]);
  return static_cast<int>(v);
}

}  // namespace

const std::vector<CatalogueEntry>& model_catalogue() {
  static const std::vector<CatalogueEntry> entries = [] {
    std::vector<CatalogueEntry> made;
    for (const ModelKind& k : kModelKinds) made.push_back({std::string(k.written), std::string(k.meaning)});
    return made;
  }();
  return entries;
}

ModelSpec parse_model(std::string_view text) {
  const Call call = parse_call(text);
  const std::string spec = "model '" + std::string(text) + "'";
  const ModelKind* kind = nullptr;
  std::string names;
  for (const ModelKind& k : kModelKinds) {
    if (call.name == k.name) kind = &k;
    names += (names.empty() ? "" : ", ") + std::string(k.name);
  }
  if (!kind) throw InputError(spec + ": unknown model '" + call.name + "' (" + names + ")");
  expect_arguments(call, kind->parameters, spec);
  ModelSpec m;
  m.kind = kind->kind;
  switch (m.kind) {
    case ModelSpec::Kind::flow:
    case ModelSpec::Kind::lsa:
      m.text = std::string(kind->name);
      break;
    case ModelSpec::Kind::linear_transformer:
      m.layers = positive_integer(call, 0, kMaxLayers, text, "L");
      m.text = "linear_transformer(" + std::to_string(m.layers) + ")";
      break;
    case ModelSpec::Kind::gpt2:
      m.layers = positive_integer(call, 0, kMaxLayers, text, "layers");
      m.heads = positive_integer(call, 1, kMaxHeads, text, "heads");
      m.width = positive_integer(call, 2, kMaxWidth, text, "width");
      if (m.width % m.heads != 0)
        throw InputError(spec + ": the heads (" + std::to_string(m.heads) + ") must divide the width (" +
                         std::to_string(m.width) + ")");
      m.text = "gpt2(" + std::to_string(m.layers) + ", " + std::to_string(m.heads) + ", " + std::to_string(m.width) + ")";
      break;
  }
  return m;
}

}  // namespace icl
