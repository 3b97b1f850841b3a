#include "model_spec.hpp"

#include <cmath>

#include "call_syntax.hpp"
#include "input_error.hpp"

namespace icl {
namespace {

// Beyond these a model cannot be trained on one node in any reasonable time.
constexpr int kMaxLayers = 64;
constexpr int kMaxHeads = 64;
constexpr int kMaxWidth = 4096;

int positive_integer(const Call& call, std::size_t i, int max, std::string_view spec, const char* what) {
  const double v = parse_number(call.args[i], "model '" + std::string(spec) + "'");
  if (!(v >= 1 && v <= max && v == std::floor(v)))
    throw InputError("model '" + std::string(spec) + "': " + what + " must be an integer in [1, " +
                     std::to_string(max) + "], not " + call.args[i]);
  return static_cast<int>(v);
}

}  // namespace

const std::vector<CatalogueEntry>& model_catalogue() {
  static const std::vector<CatalogueEntry> entries = {
      {"flow", "the reduced (u, U) LSA trained by gradient flow of the population loss (exact, no sampling)"},
      {"lsa", "the full LSA layer, W^PV and W^KQ (d+1)x(d+1), trained on sampled prompts"},
      {"linear_transformer(L)", "L residual LSA layers, the query masked as a key (Ahn et al.), on sampled prompts"},
      {"gpt2(layers, heads, width)",
       "pre-LayerNorm GPT-2 blocks, learned positions, GELU MLP 4 x width, Garg et al.'s x/y tokens, on sampled prompts"},
  };
  return entries;
}

ModelSpec parse_model(std::string_view text) {
  const Call call = parse_call(text);
  const auto expect = [&](std::size_t n) { expect_arguments(call, n, "model '" + std::string(text) + "'"); };
  ModelSpec m;
  if (call.name == "flow") {
    expect(0);
    m.kind = ModelSpec::Kind::flow;
    m.text = "flow";
  } else if (call.name == "lsa") {
    expect(0);
    m.kind = ModelSpec::Kind::lsa;
    m.text = "lsa";
  } else if (call.name == "linear_transformer") {
    expect(1);
    m.kind = ModelSpec::Kind::linear_transformer;
    m.layers = positive_integer(call, 0, kMaxLayers, text, "L");
    m.text = "linear_transformer(" + std::to_string(m.layers) + ")";
  } else if (call.name == "gpt2") {
    expect(3);
    m.kind = ModelSpec::Kind::gpt2;
    m.layers = positive_integer(call, 0, kMaxLayers, text, "layers");
    m.heads = positive_integer(call, 1, kMaxHeads, text, "heads");
    m.width = positive_integer(call, 2, kMaxWidth, text, "width");
    if (m.width % m.heads != 0)
      throw InputError("model '" + std::string(text) + "': the heads (" + std::to_string(m.heads) +
                       ") must divide the width (" + std::to_string(m.width) + ")");
    m.text = "gpt2(" + std::to_string(m.layers) + ", " + std::to_string(m.heads) + ", " + std::to_string(m.width) + ")";
  } else {
    throw InputError("model '" + std::string(text) + "': unknown model '" + call.name +
                     "' (flow, lsa, linear_transformer, gpt2)");
  }
  return m;
}

}  // namespace icl
