#pragma once
#include <cstdint>

#include "accumulator.hpp"

namespace icl {

// The whole LSA layer's risk paired with A*'s (docs/theory.md §12). A*'s error e* given the design
// comes with every prompt (§9); the layer's, e, costs an O(d^3) product a prompt, so it is
// evaluated on a pilot of the first kPilot prompts and after it on every stride-th prompt, and
// enters as the difference D = e - e* on the same prompt:
//   R(layer) = R(A*) + E[D],  estimated by  mean(e*) + (P/n) mean_pilot(D) + ((n - P)/n) mean_after(D)
// over n prompts, P = min(n, kPilot). The weights follow from the counts alone, so the estimate is
// unbiased whatever stride the pilot chose. From the pilot's variances the stride is the largest,
// up to the one asked for, that keeps the estimate's variance within kVarianceAllowance of the
// layer's own error averaged on every prompt: 1 (every prompt) for a layer far from A*, where the
// pairing does not pay.
class PairedLayerRisk {
 public:
  static constexpr std::int64_t kPilot = 256;
  static constexpr double kVarianceAllowance = 1.25;

  // `stride`: after the pilot where the pairing pays (1: every prompt). `closed_form`: R(A*) is
  // known exactly, so only gap() counts, and the pilot weighs the gap's variance alone.
  PairedLayerRisk(int stride, bool closed_form);
  // Whether prompt `index` needs the layer's error. Past the pilot only once the pilot is in.
  bool evaluates(std::int64_t index) const;
  // The prompts in order: A*'s error, and the layer's where evaluates(index) (else ignored).
  void add(std::int64_t index, double limit, double layer);
  RiskEstimate risk() const;  // R(layer) = mean(e*) + gap
  RiskEstimate gap() const;   // R(layer) - R(A*)
  int stride() const { return stride_; }

 private:
  struct Moments {  // running means, and (co)variances of (e*, D) over the prompts added
    std::int64_t n = 0;
    double mean_x = 0.0, mean_y = 0.0, m2_x = 0.0, m2_y = 0.0, c_xy = 0.0;
    void add(double x, double y);
    double var_x() const { return m2_x / static_cast<double>(n - 1); }
    double var_y() const { return m2_y / static_cast<double>(n - 1); }
    double cov() const { return c_xy / static_cast<double>(n - 1); }
  };
  void choose_stride();
  double gap_variance() const;

  int wanted_stride_, stride_ = 1;
  bool closed_form_, decided_ = false;
  Accumulator limit_;             // e* over every prompt (its count: the prompts added)
  Moments pairs_;                 // (e*, D) over every evaluated prompt
  Accumulator pilot_gap_, after_gap_;  // D over the pilot, and over the prompts evaluated after it
};

}  // namespace icl
