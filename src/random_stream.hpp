#pragma once
#include <array>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace icl {

// 64-bit hash of a text key (FNV-1a, then a splitmix64 finaliser): training runs and
// conditions are keyed by their parameters, not by their position in a grid or a schedule.
std::uint64_t text_key(std::string_view text);

// A counter-free random stream (xoshiro256++) whose state is a pure function of its keys.
// Every draw in a sweep comes from a stream keyed by (sweep seed, training key, condition
// key, prompt index, ...), so the numbers do not depend on which rank asks or in what order.
class Stream {
 public:
  Stream(std::initializer_list<std::uint64_t> keys);

  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[0] + s_[3], 23) + s_[0];
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform on the open interval (0, 1): safe for log().
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }
  double uniform(double a, double b) { return a + (b - a) * uniform(); }
  std::uint64_t below(std::uint64_t n);  // uniform integer in [0, n), unbiased
  // N(0, 1) by the ziggurat: the fast path (about 99% of draws) is inline, since prompts
  // draw hundreds of normals each.
  double normal() {
    const std::uint64_t bits = next();
    const auto layer = static_cast<int>(bits & 127);
    const double u = 2.0 * (static_cast<double>(bits >> 11) * 0x1.0p-53) - 1.0;
    if (std::abs(u) < kZiggurat.ratio[layer]) return u * kZiggurat.x[layer];
    return normal_slow(layer, u);
  }
  double exponential() { return -std::log(uniform()); }
  double gamma(double shape);            // Gamma(shape, 1)

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  double normal_slow(int layer, double u);
  double normal_tail(bool negative);

  // Ziggurat tables for the standard normal (Marsaglia and Tsang, 128 layers, Doornik's
  // layout): x[i] are the layer edges, ratio[i] = x[i+1]/x[i] is the fast-accept bound.
  struct ZigguratTables {
    ZigguratTables();
    std::array<double, 129> x{};
    std::array<double, 128> ratio{};
  };
  static const ZigguratTables kZiggurat;
  std::array<std::uint64_t, 4> s_{};
};

}  // namespace icl

namespace icl {

// The identity of one test law's random numbers: (sweep seed, covariance key, condition key),
// the test covariance and the rest of the condition (docs/theory.md §9).
struct StreamKey {
  std::uint64_t seed = 0, covariance = 0, condition = 0;
};

}  // namespace icl
