#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/sweep_config.hpp"

namespace icl {

// The grid's axes, declared once. The run axes multiply into training runs, the condition axes
// into each run's conditions; rows go in the order of this list, the last axis of each kind
// fastest (docs/interface.md, "The results file"). From it follow the decode of a row's place
// (task/grid.cpp), the cost estimate's enumeration, the grid-size check (config/sweep_config.cpp),
// the dry run's table, the row's grid columns (task/run_task.cpp) and the Python package's axis
// list (icl_sweep/axes.json, from --describe-axes).
enum class Axis : std::size_t {
  d, n_train, spectrum, sigma, train_noise, init_seed, model, lr, steps, optimizer, batch, lr_schedule, init,
  m_test, shift, ridge_lambda, knn_k
};
enum class AxisKind { run, condition };

struct GridAxis {
  Axis id;
  std::string_view key;     // the config key that lists its values
  std::string_view column;  // the result column that holds a row's value
  std::string_view counted; // how the dry run counts its values ("3 d x 2 shifts")
  AxisKind kind;
  std::size_t (*size)(const SweepConfig& config);  // how many values the config gives it
};

inline constexpr std::size_t kRunAxisCount = 13, kConditionAxisCount = 4;
inline constexpr std::array<GridAxis, kRunAxisCount + kConditionAxisCount> kGridAxes{{
    {Axis::d, "grid.d", "d", "d", AxisKind::run, [](const SweepConfig& c) { return c.d.size(); }},
    {Axis::n_train, "grid.n_train", "n_train", "n_train", AxisKind::run,
     [](const SweepConfig& c) { return c.n_train.size(); }},
    {Axis::spectrum, "grid.spectrum", "spectrum", "spectrum", AxisKind::run,
     [](const SweepConfig& c) { return c.spectrum.size(); }},
    {Axis::sigma, "grid.sigma", "sigma", "sigma", AxisKind::run, [](const SweepConfig& c) { return c.sigma.size(); }},
    {Axis::train_noise, "grid.train_noise", "train_noise", "train_noise", AxisKind::run,
     [](const SweepConfig& c) { return c.train_noise.size(); }},
    {Axis::init_seed, "grid.init_seed", "init_seed", "init_seed", AxisKind::run,
     [](const SweepConfig& c) { return c.init_seed.size(); }},
    {Axis::model, "grid.model", "model", "model", AxisKind::run, [](const SweepConfig& c) { return c.model.size(); }},
    {Axis::lr, "train.lr", "lr", "lr", AxisKind::run, [](const SweepConfig& c) { return c.lr.size(); }},
    {Axis::steps, "train.steps", "steps", "steps", AxisKind::run, [](const SweepConfig& c) { return c.steps.size(); }},
    {Axis::optimizer, "train.optimizer", "optimizer", "optimizer", AxisKind::run,
     [](const SweepConfig& c) { return c.optimizer.size(); }},
    {Axis::batch, "train.batch", "batch", "batch", AxisKind::run, [](const SweepConfig& c) { return c.batch.size(); }},
    {Axis::lr_schedule, "train.lr_schedule", "lr_schedule", "lr_schedule", AxisKind::run,
     [](const SweepConfig& c) { return c.lr_schedule.size(); }},
    {Axis::init, "train.init", "init", "init", AxisKind::run, [](const SweepConfig& c) { return c.init.size(); }},
    {Axis::m_test, "eval.m_test", "m_test", "m_test", AxisKind::condition,
     [](const SweepConfig& c) { return c.m_test.size(); }},
    {Axis::shift, "eval.shift", "shift", "shifts", AxisKind::condition,
     [](const SweepConfig& c) { return c.shift.size(); }},
    {Axis::ridge_lambda, "eval.ridge_lambda", "ridge_lambda", "ridge_lambda", AxisKind::condition,
     [](const SweepConfig& c) { return c.ridge_lambda.size(); }},
    {Axis::knn_k, "eval.knn_k", "knn_k", "knn_k", AxisKind::condition, [](const SweepConfig& c) { return c.knn_k.size(); }},
}};

constexpr std::size_t index_of(Axis a) { return static_cast<std::size_t>(a); }

static_assert([] {
  for (std::size_t i = 0; i < kGridAxes.size(); ++i)
    if (index_of(kGridAxes[i].id) != i || (kGridAxes[i].kind == AxisKind::run) != (i < kRunAxisCount)) return false;
  return true;
}(), "kGridAxes lists the axes in the order of the enum, the run axes first");

// A place on the grid: the index into each axis's list of values (those of the other kind 0).
using AxisDigits = std::array<std::size_t, kGridAxes.size()>;

// How many values the config gives each axis.
AxisDigits grid_sizes(const SweepConfig& config);
// Mixed radix over the axes of `kind` with these sizes, the last fastest: the place of run
// `train_id`, or of condition `index` within a run.
AxisDigits grid_place(const AxisDigits& sizes, AxisKind kind, std::uint64_t index);
// The product of the sizes of the axes of `kind` (in floating point: never overflows).
double grid_extent(const SweepConfig& config, AxisKind kind);

}  // namespace icl
