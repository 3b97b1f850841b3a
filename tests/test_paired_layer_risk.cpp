// The layer's risk paired with A*'s (src/paired_layer_risk.hpp, docs/theory.md §12) on synthetic
// errors: on every prompt it is the plain mean and standard error of the layer's own errors; the
// pilot keeps the largest stride whose variance stays within the allowance; and over many independent runs the estimate
// is centred on the truth with a standard error that matches its spread.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "paired_layer_risk.hpp"
#include "random_stream.hpp"

namespace {

using namespace icl;

// One prompt's errors: A*'s e* = 2 + z1^2 (skewed, mean 3) and the layer's e = e* + D with
// D = gap + spread (z2 + 0.5 (z1^2 - 1)) (mean gap, correlated with e*).
struct Errors {
  double limit, layer;
};
Errors draw(Stream& s, double gap, double spread) {
  const double z1 = s.normal(), z2 = s.normal();
  const double limit = 2.0 + z1 * z1;
  return {limit, limit + gap + spread * (z2 + 0.5 * (z1 * z1 - 1.0))};
}

PairedLayerRisk run(std::uint64_t seed, std::int64_t n, double gap, double spread, int stride, bool closed_form,
                    std::vector<double>* layers = nullptr) {
  Stream s{seed, 77};
  PairedLayerRisk r(stride, closed_form);
  for (std::int64_t i = 0; i < n; ++i) {
    const Errors e = draw(s, gap, spread);
    r.add(i, e.limit, e.layer);
    if (layers) layers->push_back(e.layer);
  }
  return r;
}

TEST(PairedLayerRisk, OnEveryPromptItIsTheLayersOwnMeanAndStandardError) {
  std::vector<double> layers;
  const PairedLayerRisk r = run(1, 3000, 0.2, 1.0, 1, false, &layers);
  double sum = 0.0, sum2 = 0.0;
  for (double x : layers) sum += x;
  const double n = static_cast<double>(layers.size()), mean = sum / n;
  for (double x : layers) sum2 += (x - mean) * (x - mean);
  const double se = std::sqrt(sum2 / (n - 1.0) / n);
  EXPECT_NEAR(r.risk().mean, mean, 1e-12 * mean);
  EXPECT_NEAR(r.risk().se, se, 1e-9 * se);
  EXPECT_EQ(r.stride(), 1);
}

TEST(PairedLayerRisk, ThePilotKeepsTheLargestStrideWithinTheAllowance) {
  // A layer close to A*: D's spread 0.02 against e*'s 1.4.
  EXPECT_EQ(run(2, 1000, 0.01, 0.02, 8, false).stride(), 8);
  EXPECT_EQ(run(2, 1000, 0.01, 0.02, 8, true).stride(), 8);
  // Far from it: Var D = 6 against Var e* = 2 and Cov(e*, D) = 2, so the layer's own error has
  // variance 12: on every s-th prompt the variance is 6 + 6 s (law), 6 s (R(A*) exact), within
  // 1.25 x 12 for s = 1 and s = 2 (the largest) respectively.
  EXPECT_EQ(run(3, 1000, 1.0, 2.0, 8, false).stride(), 1);
  EXPECT_EQ(run(3, 1000, 1.0, 2.0, 8, true).stride(), 2);
  // Stopped within the pilot: every prompt evaluated, no stride chosen.
  const PairedLayerRisk short_run = run(4, 100, 0.01, 0.02, 8, false);
  EXPECT_EQ(short_run.stride(), 1);
  EXPECT_TRUE(std::isfinite(short_run.risk().se));
}

// 400 independent runs of 2,000 prompts, stride 8 kept: the z-scores of the risk (truth 3 + gap)
// and of the gap have mean within 0.15 of 0 and standard deviation within 12% of 1 (for 400
// normal z, 4.5 and 3.5 of their own standard errors).
TEST(PairedLayerRisk, TheEstimateIsCentredAndItsStandardErrorMatchesItsSpread) {
  const double gap = 0.05, spread = 0.1;
  for (const bool closed_form : {false, true}) {
    std::vector<double> z_risk, z_gap;
    for (std::uint64_t seed = 0; seed < 400; ++seed) {
      const PairedLayerRisk r = run(100 + seed, 2000, gap, spread, 8, closed_form);
      ASSERT_EQ(r.stride(), 8);
      z_risk.push_back((r.risk().mean - (3.0 + gap)) / r.risk().se);
      z_gap.push_back((r.gap().mean - gap) / r.gap().se);
    }
    for (const auto* z : {&z_risk, &z_gap}) {
      double mean = 0.0, var = 0.0;
      for (double x : *z) mean += x / static_cast<double>(z->size());
      for (double x : *z) var += (x - mean) * (x - mean) / static_cast<double>(z->size() - 1);
      EXPECT_NEAR(mean, 0.0, 0.15) << (z == &z_risk ? "risk" : "gap") << " closed_form " << closed_form;
      EXPECT_NEAR(std::sqrt(var), 1.0, 0.12) << (z == &z_risk ? "risk" : "gap") << " closed_form " << closed_form;
    }
  }
}

}  // namespace
