#include "task/stored_model.hpp"

#include <cstring>
#include <string_view>

namespace icl {
namespace {

constexpr std::string_view kFlowMagic = "ICLFLOW1";

template <class T>
void put(std::string& out, const T* data, std::size_t count) {
  out.append(reinterpret_cast<const char*>(data), count * sizeof(T));
}

}  // namespace

std::string encode_flow(int d, std::span<const double> a, const ResultRow& training,
                        std::span<const StoredSample> trajectory) {
  std::string out(kFlowMagic);
  const std::uint64_t dim = static_cast<std::uint64_t>(d), points = trajectory.size();
  put(out, &dim, 1);
  put(out, a.data(), a.size());
  put(out, &training, 1);
  put(out, &points, 1);
  put(out, trajectory.data(), trajectory.size());
  return out;
}

std::optional<StoredFlow> decode_flow(const std::string& bytes, int d, std::size_t points) {
  const std::size_t entries = static_cast<std::size_t>(d) * static_cast<std::size_t>(d);
  const std::size_t size = kFlowMagic.size() + 8 + entries * sizeof(double) + sizeof(ResultRow) + 8 +
                           points * sizeof(StoredSample);
  if (bytes.size() != size || std::string_view(bytes).substr(0, kFlowMagic.size()) != kFlowMagic) return std::nullopt;
  const char* at = bytes.data() + kFlowMagic.size();
  std::uint64_t dim = 0, stored_points = 0;
  std::memcpy(&dim, at, 8);
  if (dim != static_cast<std::uint64_t>(d)) return std::nullopt;
  StoredFlow flow;
  flow.a.resize(entries);
  std::memcpy(flow.a.data(), at += 8, entries * sizeof(double));
  std::memcpy(&flow.training, at += entries * sizeof(double), sizeof(ResultRow));
  std::memcpy(&stored_points, at += sizeof(ResultRow), 8);
  if (stored_points != points) return std::nullopt;
  flow.trajectory.resize(points);
  std::memcpy(flow.trajectory.data(), at + 8, points * sizeof(StoredSample));
  return flow;
}

}  // namespace icl
