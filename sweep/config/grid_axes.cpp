#include "config/grid_axes.hpp"

namespace icl {

AxisDigits grid_sizes(const SweepConfig& config) {
  AxisDigits sizes{};
  for (std::size_t a = 0; a < kGridAxes.size(); ++a) sizes[a] = kGridAxes[a].size(config);
  return sizes;
}

AxisDigits grid_place(const AxisDigits& sizes, AxisKind kind, std::uint64_t index) {
  AxisDigits digits{};
  for (std::size_t a = kGridAxes.size(); a-- > 0;) {
    if (kGridAxes[a].kind != kind) continue;
    digits[a] = static_cast<std::size_t>(index % sizes[a]);
    index /= sizes[a];
  }
  return digits;
}

double grid_extent(const SweepConfig& config, AxisKind kind) {
  double extent = 1.0;
  for (const GridAxis& axis : kGridAxes)
    if (axis.kind == kind) extent *= static_cast<double>(axis.size(config));
  return extent;
}

}  // namespace icl
