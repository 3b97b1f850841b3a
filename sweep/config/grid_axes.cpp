#include "config/grid_axes.hpp"

namespace icl {

AxisDigits grid_place(const SweepConfig& config, AxisKind kind, std::uint64_t index) {
  AxisDigits digits{};
  for (std::size_t a = kGridAxes.size(); a-- > 0;) {
    if (kGridAxes[a].kind != kind) continue;
    const std::size_t radix = kGridAxes[a].size(config);
    digits[a] = static_cast<std::size_t>(index % radix);
    index /= radix;
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
