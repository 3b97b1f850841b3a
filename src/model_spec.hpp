#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "covariance.hpp"

namespace icl {

// The models a sweep can train (docs/theory.md §1, §11), parsed from the names users write:
//   flow                          the reduced (u, U) population gradient flow
//   lsa                           the full LSA layer, W^PV and W^KQ (d+1)x(d+1), on sampled prompts
//   linear_transformer(L)         L residual LSA layers with the query masked as a key
//   gpt2(layers, heads, width)    a pre-LayerNorm GPT-2 block stack on Garg et al.'s tokens
struct ModelSpec {
  enum class Kind { flow, lsa, linear_transformer, gpt2 } kind = Kind::flow;
  int layers = 1, heads = 0, width = 0;
  std::string text;  // as written, canonical: `gpt2(3, 2, 64)`

  bool sampled() const { return kind != Kind::flow; }
  // Whether the prediction is x_q^T A h for some A when the blocks outside the reduced model
  // vanish (one LSA layer).
  bool lsa_type() const { return kind == Kind::lsa || (kind == Kind::linear_transformer && layers == 1); }
  // The trained weights a results file keeps for one run at dimension d (/parameters): the
  // flow's A (d x d, row-major); every layer's W^PV and W^KQ, (d+1)^2 each, for lsa and
  // linear_transformer(L); none for GPT-2 (whose whole model is in /models).
  std::int64_t stored_parameters(int d) const {
    if (kind == Kind::flow) return std::int64_t{d} * d;
    const bool kept = kind == Kind::lsa || kind == Kind::linear_transformer;
    return kept ? std::int64_t{2} * layers * (d + 1) * (d + 1) : 0;
  }
};

// Throws InputError for unknown names and bad parameters (heads must divide width).
ModelSpec parse_model(std::string_view text);
const std::vector<CatalogueEntry>& model_catalogue();

}  // namespace icl
