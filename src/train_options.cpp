#include "train_options.hpp"

#include <algorithm>
#include <array>
#include <utility>
#include <charconv>
#include <cmath>
#include <numbers>
#include <optional>

#include "call_syntax.hpp"
#include "input_error.hpp"

namespace icl {
namespace {

// The names of an enumeration, in one place each: parsing, printing and the message's list.
template <class E>
using Names = std::array<std::pair<std::string_view, E>, 3>;
constexpr Names<TrainOptions::Optimizer> kOptimizers{{{"adam", TrainOptions::Optimizer::adam},
                                                     {"adamw", TrainOptions::Optimizer::adamw},
                                                     {"sgd", TrainOptions::Optimizer::sgd}}};
constexpr Names<TrainOptions::Schedule> kSchedules{{{"constant", TrainOptions::Schedule::constant},
                                                    {"cosine", TrainOptions::Schedule::cosine},
                                                    {"warmup", TrainOptions::Schedule::warmup}}};
constexpr Names<TrainOptions::Precision> kPrecisions{{{"fp32", TrainOptions::Precision::fp32},
                                                     {"tf32", TrainOptions::Precision::tf32},
                                                     {"bf16", TrainOptions::Precision::bf16}}};

template <class E>
E parse_name(const Names<E>& names, std::string_view text, const std::string& what) {
  const std::string name = trim(text);
  std::string known;
  for (const auto& [n, value] : names) {
    if (n == name) return value;
    known += (known.empty() ? "" : ", ") + std::string(n);
  }
  throw InputError("unknown " + what + " '" + name + "' (" + known + ")");
}

template <class E>
std::string_view name_of(const Names<E>& names, E value) {
  for (const auto& [n, v] : names)
    if (v == value) return n;
  return "?";
}

// `bare` (nullopt) or `name(x)` (x, a number; what names it in messages); anything else throws
// InputError(usage).
std::optional<double> bare_or_number(std::string_view text, std::string_view bare, std::string_view name,
                                     const char* what, const char* usage) {
  const Call call = parse_call(text);
  if (call.name == bare && call.args.empty()) return std::nullopt;
  if (call.name == name && call.args.size() == 1) return parse_number(call.args[0], what);
  throw InputError(usage);
}

}  // namespace

TrainOptions::Optimizer parse_optimizer(std::string_view name) { return parse_name(kOptimizers, name, "optimizer"); }
TrainOptions::Schedule parse_schedule(std::string_view name) { return parse_name(kSchedules, name, "schedule"); }
std::string_view to_string(TrainOptions::Optimizer optimizer) { return name_of(kOptimizers, optimizer); }
std::string_view to_string(TrainOptions::Schedule schedule) { return name_of(kSchedules, schedule); }
TrainOptions::Precision parse_precision(std::string_view name) { return parse_name(kPrecisions, name, "precision"); }
std::string_view to_string(TrainOptions::Precision precision) { return name_of(kPrecisions, precision); }

DeviceRequest parse_device(std::string_view text) {
  const std::string name = trim(text);
  if (name == "cpu") return {};
  if (name == "cuda") return {true, -1};
  int index = -1;
  if (name.starts_with("cuda:")) {
    const char* first = name.data() + 5;
    const char* last = name.data() + name.size();
    const auto [end, error] = std::from_chars(first, last, index);
    if (error == std::errc() && end == last && first != last && index >= 0) return {true, index};
  }
  throw InputError("not a device: '" + name + "' (cpu, cuda for each rank's own GPU, or cuda:N)");
}

std::string rank_device(const DeviceRequest& request, int local_rank, int visible) {
  if (!request.cuda) return "cpu";
  const int index = request.index >= 0 ? request.index : local_rank % std::max(visible, 1);
  return "cuda:" + std::to_string(index);
}

void parse_init(std::string_view text, TrainOptions& options) {
  const auto scale = bare_or_number(text, "paper", "gaussian", "init", "an initialisation is paper or gaussian(scale)");
  if (scale && !(*scale > 0.0 && *scale <= 1e3)) throw InputError("the scale of gaussian(scale) must be in (0, 1000]");
  options.init = scale ? "gaussian" : "paper";
  options.init_scale = scale.value_or(0.0);
}

std::string init_text(const TrainOptions& options) {
  return options.init == "paper" ? "paper" : "gaussian(" + shortest(options.init_scale) + ")";
}

void parse_curriculum(std::string_view text, TrainOptions& options) {
  const auto every = bare_or_number(text, "none", "garg", "curriculum", "a curriculum is none or garg(every)");
  if (every && !(*every >= 1 && *every <= 1e12 && *every == std::floor(*every)))
    throw InputError("the interval of garg(every) must be a whole number of steps >= 1");
  options.curriculum = every ? "garg" : "none";
  options.curriculum_every = static_cast<std::int64_t>(every.value_or(0.0));
}

std::string curriculum_text(const TrainOptions& options) {
  return options.curriculum == "none" ? "none" : "garg(" + std::to_string(options.curriculum_every) + ")";
}

namespace {
int grown(int whole, std::int64_t by, std::int64_t step, std::int64_t every) {
  if (every == 0) return whole;
  const std::int64_t start = (whole + 3) / 4;  // ceil(whole / 4)
  return static_cast<int>(std::min<std::int64_t>(whole, start + by * (step / every)));
}
}  // namespace

int Curriculum::dims_at(std::int64_t step) const { return grown(d, 1, step, every); }
int Curriculum::points_at(std::int64_t step) const { return grown(points, 2, step, every); }

double scheduled_lr(const TrainOptions& options, std::int64_t step) {
  const double total = static_cast<double>(std::max<std::int64_t>(options.steps, 1));
  const double t = static_cast<double>(step);
  const auto cosine = [](double fraction) { return 0.5 * (1.0 + std::cos(std::numbers::pi * std::clamp(fraction, 0.0, 1.0))); };
  switch (options.schedule) {
    case TrainOptions::Schedule::constant: return options.lr;
    case TrainOptions::Schedule::cosine: return options.lr * cosine(t / total);
    case TrainOptions::Schedule::warmup: {
      const double warm = std::max(1.0, std::floor(0.1 * total));
      if (t < warm) return options.lr * (t + 1.0) / warm;
      return options.lr * cosine((t - warm) / std::max(1.0, total - warm));
    }
  }
  return options.lr;
}

}  // namespace icl
