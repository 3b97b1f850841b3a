#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "random_stream.hpp"

using icl::Stream;

namespace {

constexpr int kDraws = 200000;

// Two-sided normal tail probability P(|Z| > x).
double two_sided_tail(double x) { return std::erfc(x / std::sqrt(2.0)); }

std::vector<std::uint64_t> first(Stream s, int n) {
  std::vector<std::uint64_t> out(n);
  for (auto& v : out) v = s.next();
  return out;
}

}  // namespace

TEST(RandomStream, SameKeysSameSequence) {
  EXPECT_EQ(first(Stream{7, 11, 13}, 100), first(Stream{7, 11, 13}, 100));
  Stream a{42, 1};
  Stream b{42, 1};
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.normal(), b.normal()) << i;
}

TEST(RandomStream, DifferentKeysDifferentSequences) {
  // A collision of the first 64-bit output has probability 2^-64; any match is a bug.
  const auto base = first(Stream{1, 2}, 4);
  EXPECT_NE(base, first(Stream{2, 1}, 4));  // order of keys matters
  EXPECT_NE(base, first(Stream{1, 3}, 4));
  EXPECT_NE(base, first(Stream{1, 2, 0}, 4));  // an extra zero key matters
  EXPECT_NE(base, first(Stream{1}, 4));
  EXPECT_NE(first(Stream{}, 4), first(Stream{0}, 4));
  EXPECT_NE(base[0], first(Stream{2, 1}, 1)[0]);
}

TEST(RandomStream, TextKey) {
  EXPECT_EQ(icl::text_key("power(1)"), icl::text_key("power(1)"));
  EXPECT_NE(icl::text_key("power(1)"), icl::text_key("power(2)"));
  EXPECT_NE(icl::text_key("ab"), icl::text_key("ba"));
  EXPECT_NE(icl::text_key(""), icl::text_key(" "));
  EXPECT_NE(icl::text_key("a"), icl::text_key("b"));
}

TEST(RandomStream, UniformOpenInterval) {
  Stream s{3};
  double sum = 0.0;
  for (int i = 0; i < kDraws; ++i) {
    const double u = s.uniform();
    ASSERT_GT(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  // mean 1/2, standard error sqrt(1/12 / n); tolerance 5 se
  EXPECT_NEAR(sum / kDraws, 0.5, 5.0 * std::sqrt(1.0 / 12.0 / kDraws));
  Stream t{4};
  for (int i = 0; i < 1000; ++i) {
    const double v = t.uniform(-2.0, 3.0);
    ASSERT_GT(v, -2.0);
    ASSERT_LT(v, 3.0);
  }
}

TEST(RandomStream, NormalMoments) {
  Stream s{2024, 1};
  double m1 = 0, m2 = 0, m3 = 0, m4 = 0;
  for (int i = 0; i < kDraws; ++i) {
    const double z = s.normal();
    const double z2 = z * z;
    m1 += z;
    m2 += z2;
    m3 += z2 * z;
    m4 += z2 * z2;
  }
  const double n = kDraws;
  m1 /= n, m2 /= n, m3 /= n, m4 /= n;
  // Each sample moment E[z^k] has variance (E[z^2k] - E[z^k]^2)/n; N(0,1) moments
  // E z^2..8 = 1, 0, 3, 0, 15, 0, 105. Tolerance: 5 standard errors.
  EXPECT_NEAR(m1, 0.0, 5.0 * std::sqrt(1.0 / n));
  EXPECT_NEAR(m2, 1.0, 5.0 * std::sqrt((3.0 - 1.0) / n));
  EXPECT_NEAR(m3, 0.0, 5.0 * std::sqrt(15.0 / n));
  EXPECT_NEAR(m4, 3.0, 5.0 * std::sqrt((105.0 - 9.0) / n));
}

TEST(RandomStream, NormalProbabilities) {
  // The ziggurat's base strip hands |z| > r to the tail sampler; check that region's mass,
  // a point further out in the tail, and a bulk probability. 10^6 draws, 5 standard errors.
  constexpr double r = 3.442619855899;
  const int n = 1000000;
  Stream s{99, 5};
  int beyond_r = 0, beyond_4 = 0, below_minus_1 = 0, positive_tail = 0;
  for (int i = 0; i < n; ++i) {
    const double z = s.normal();
    if (std::abs(z) > r) ++beyond_r;
    if (z > r) ++positive_tail;
    if (std::abs(z) > 4.0) ++beyond_4;
    if (z < -1.0) ++below_minus_1;
  }
  const auto check = [n](int count, double p, const char* what) {
    const double se = std::sqrt(p * (1.0 - p) / n);
    EXPECT_NEAR(count / double(n), p, 5.0 * se) << what;
  };
  EXPECT_NEAR(two_sided_tail(r), 5.76e-4, 0.01e-4);  // the reference value itself
  check(beyond_r, two_sided_tail(r), "P(|z| > r)");
  check(positive_tail, 0.5 * two_sided_tail(r), "P(z > r)");
  check(beyond_4, two_sided_tail(4.0), "P(|z| > 4)");
  check(below_minus_1, 0.158655253931457, "P(z < -1)");
}

TEST(RandomStream, ExponentialMeanAndVariance) {
  Stream s{8};
  double sum = 0, sum2 = 0;
  for (int i = 0; i < kDraws; ++i) {
    const double e = s.exponential();
    ASSERT_GT(e, 0.0);
    sum += e;
    sum2 += e * e;
  }
  const double n = kDraws;
  const double mean = sum / n;
  const double var = sum2 / n - mean * mean;
  // Exp(1): mean 1 (se sqrt(1/n)); variance 1, central 4th moment 9 so se sqrt((9-1)/n).
  EXPECT_NEAR(mean, 1.0, 5.0 * std::sqrt(1.0 / n));
  EXPECT_NEAR(var, 1.0, 5.0 * std::sqrt(8.0 / n));
}

TEST(RandomStream, GammaMeanAndVariance) {
  for (double k : {0.5, 1.0, 3.7}) {
    Stream s{17, static_cast<std::uint64_t>(k * 10)};
    double sum = 0, sum2 = 0;
    for (int i = 0; i < kDraws; ++i) {
      const double g = s.gamma(k);
      ASSERT_GT(g, 0.0);
      sum += g;
      sum2 += g * g;
    }
    const double n = kDraws;
    const double mean = sum / n;
    const double var = sum2 / n - mean * mean;
    // Gamma(k,1): mean k, variance k, central 4th moment 3k^2 + 6k; 5 standard errors.
    EXPECT_NEAR(mean, k, 5.0 * std::sqrt(k / n)) << "shape " << k;
    EXPECT_NEAR(var, k, 5.0 * std::sqrt((2.0 * k * k + 6.0 * k) / n)) << "shape " << k;
  }
}

TEST(RandomStream, BelowInRangeAndUniform) {
  Stream s{5, 5};
  std::array<int, 10> bins{};
  for (int i = 0; i < kDraws; ++i) {
    const std::uint64_t v = s.below(10);
    ASSERT_LT(v, 10u);
    ++bins[v];
  }
  // Chi-square with 9 degrees of freedom: mean 9, sd 4.2; 40 is a generous bound (p ~ 1e-5).
  const double expected = kDraws / 10.0;
  double chi2 = 0.0;
  for (int b : bins) chi2 += (b - expected) * (b - expected) / expected;
  EXPECT_LT(chi2, 40.0);

  for (int i = 0; i < 100; ++i) EXPECT_EQ(s.below(1), 0u);

  // A range close to 2^64, where rejection matters: values stay below n and the upper
  // third [2n/3, n) gets a third of the draws (5 se of a binomial proportion).
  const std::uint64_t big = 3ULL << 62;
  int upper = 0;
  const int m = 30000;
  for (int i = 0; i < m; ++i) {
    const std::uint64_t v = s.below(big);
    ASSERT_LT(v, big);
    if (v >= (big / 3) * 2) ++upper;
  }
  EXPECT_NEAR(upper / double(m), 1.0 / 3.0, 5.0 * std::sqrt(2.0 / 9.0 / m));
}
