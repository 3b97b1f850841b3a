#include "train_options.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numbers>

#include "call_syntax.hpp"
#include "input_error.hpp"

namespace icl {
namespace {

std::string shortest(double v) {
  char buffer[32];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, v).ptr;
  return std::string(buffer, end);
}

}  // namespace

TrainOptions::Optimizer parse_optimizer(std::string_view name) {
  const std::string n = trim(name);
  if (n == "adam") return TrainOptions::Optimizer::adam;
  if (n == "adamw") return TrainOptions::Optimizer::adamw;
  if (n == "sgd") return TrainOptions::Optimizer::sgd;
  throw InputError("unknown optimizer '" + n + "' (adam, adamw, sgd)");
}

TrainOptions::Schedule parse_schedule(std::string_view name) {
  const std::string n = trim(name);
  if (n == "constant") return TrainOptions::Schedule::constant;
  if (n == "cosine") return TrainOptions::Schedule::cosine;
  if (n == "warmup") return TrainOptions::Schedule::warmup;
  throw InputError("unknown schedule '" + n + "' (constant, cosine, warmup)");
}

std::string_view to_string(TrainOptions::Optimizer optimizer) {
  switch (optimizer) {
    case TrainOptions::Optimizer::adam: return "adam";
    case TrainOptions::Optimizer::adamw: return "adamw";
    case TrainOptions::Optimizer::sgd: return "sgd";
  }
  return "?";
}

std::string_view to_string(TrainOptions::Schedule schedule) {
  switch (schedule) {
    case TrainOptions::Schedule::constant: return "constant";
    case TrainOptions::Schedule::cosine: return "cosine";
    case TrainOptions::Schedule::warmup: return "warmup";
  }
  return "?";
}

void parse_init(std::string_view text, TrainOptions& options) {
  const Call call = parse_call(text);
  if (call.name == "paper" && call.args.empty()) {
    options.init = "paper";
    options.init_scale = 0.0;
    return;
  }
  if (call.name == "gaussian" && call.args.size() == 1) {
    const double scale = parse_number(call.args[0], "init");
    if (!(scale > 0.0 && scale <= 1e3)) throw InputError("the scale of gaussian(scale) must be in (0, 1000]");
    options.init = "gaussian";
    options.init_scale = scale;
    return;
  }
  throw InputError("an initialisation is paper or gaussian(scale)");
}

std::string init_text(const TrainOptions& options) {
  return options.init == "paper" ? "paper" : "gaussian(" + shortest(options.init_scale) + ")";
}

void parse_curriculum(std::string_view text, TrainOptions& options) {
  const Call call = parse_call(text);
  if (call.name == "none" && call.args.empty()) {
    options.curriculum = "none";
    options.curriculum_every = 0;
    return;
  }
  if (call.name == "garg" && call.args.size() == 1) {
    const double every = parse_number(call.args[0], "curriculum");
    if (!(every >= 1 && every <= 1e12 && every == std::floor(every)))
      throw InputError("the interval of garg(every) must be a whole number of steps >= 1");
    options.curriculum = "garg";
    options.curriculum_every = static_cast<std::int64_t>(every);
    return;
  }
  throw InputError("a curriculum is none or garg(every)");
}

std::string curriculum_text(const TrainOptions& options) {
  return options.curriculum == "none" ? "none" : "garg(" + std::to_string(options.curriculum_every) + ")";
}

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
