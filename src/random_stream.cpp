#include "random_stream.hpp"

namespace icl {
namespace {

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr int kLayers = 128;
constexpr double kTailStart = 3.442619855899;
constexpr double kLayerArea = 9.91256303526217e-3;

}  // namespace

Stream::ZigguratTables::ZigguratTables() {
  double f = std::exp(-0.5 * kTailStart * kTailStart);
  x[0] = kLayerArea / f;
  x[1] = kTailStart;
  x[kLayers] = 0.0;
  for (int i = 2; i < kLayers; ++i) {
    x[i] = std::sqrt(-2.0 * std::log(kLayerArea / x[i - 1] + f));
    f = std::exp(-0.5 * x[i] * x[i]);
  }
  for (int i = 0; i < kLayers; ++i) ratio[i] = x[i + 1] / x[i];
}

const Stream::ZigguratTables Stream::kZiggurat;

std::uint64_t text_key(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return splitmix64(h);
}

Stream::Stream(std::initializer_list<std::uint64_t> keys) {
  std::uint64_t state = 0x6a09e667f3bcc909ULL;
  for (std::uint64_t k : keys) {
    state ^= k;
    state = splitmix64(state);
  }
  for (auto& word : s_) word = splitmix64(state);
}

std::uint64_t Stream::below(std::uint64_t n) {
  // Lemire's multiply-and-reject: unbiased without a division in the common case.
  __uint128_t m = static_cast<__uint128_t>(next()) * n;
  auto low = static_cast<std::uint64_t>(m);
  if (low < n) {
    const std::uint64_t threshold = -n % n;
    while (low < threshold) {
      m = static_cast<__uint128_t>(next()) * n;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

double Stream::normal_tail(bool negative) {
  double x = 0.0;
  double y = 0.0;
  do {
    x = std::log(uniform()) / kTailStart;
    y = std::log(uniform());
  } while (-2.0 * y < x * x);
  return negative ? x - kTailStart : kTailStart - x;
}

double Stream::normal_slow(int layer, double u) {
  const ZigguratTables& t = kZiggurat;
  while (true) {
    if (layer == 0) return normal_tail(u < 0.0);
    const double x = u * t.x[layer];
    const double f0 = std::exp(-0.5 * (t.x[layer] * t.x[layer] - x * x));
    const double f1 = std::exp(-0.5 * (t.x[layer + 1] * t.x[layer + 1] - x * x));
    if (f1 + uniform() * (f0 - f1) < 1.0) return x;
    const std::uint64_t bits = next();
    layer = static_cast<int>(bits & (kLayers - 1));
    u = 2.0 * (static_cast<double>(bits >> 11) * 0x1.0p-53) - 1.0;
    if (std::abs(u) < t.ratio[layer]) return u * t.x[layer];
  }
}

double Stream::gamma(double shape) {
  // Marsaglia and Tsang; shapes below one are boosted by U^(1/shape).
  if (shape < 1.0) return gamma(shape + 1.0) * std::pow(uniform(), 1.0 / shape);
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  while (true) {
    double x = 0.0;
    double v = 0.0;
    do {
      x = normal();
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = uniform();
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
  }
}

}  // namespace icl
