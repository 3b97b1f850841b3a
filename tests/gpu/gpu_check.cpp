// The GPU check's C++ half (scripts/gpu-check.sh), through the sampled models' own training:
//   gpu_check compare DEVICE_A DEVICE_B [STEPS]
//     trains gpt2(3, 2, 64) at d = 5, N = 10 with the same seed on both devices and compares their
//     held-out errors on the same 20,000 test prompts: exit 1 when they differ by more than three
//     standard errors of the difference of two independent Monte-Carlo estimates;
//   gpu_check precisions DEVICE [STEPS]
//     the same training in fp32, tf32 and bf16 on DEVICE, each one's held-out error against fp32's;
//   gpu_check step DEVICE [PRECISION]
//     the median seconds of one training step of gpt2(12, 8, 256) at d = 20, N = 40, batch 64
//     (Adam; prompts drawn, moved to the device, forward, backward, update) and the wall time of
//     the paper's 500,000-step run at that rate.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <string>
#include <vector>

#include "model_run.hpp"

namespace {

// A run of the check: on the isotropic law, with the check's own seed.
struct CheckRun : icl::test::ModelRun {
  CheckRun(const std::string& model, int d, int n, const std::string& device)
      : ModelRun("isotropic", d, n, model, device) {
    setup.seed = 7;
    setup.train_key = 8;
  }
};

// gpt2(3, 2, 64) at d = 5, N = 10 trained for `steps` on `device` in `precision`, and its error
// on the held-out prompts; false (said) when the training did not end trained.
bool small_run(const std::string& device, const std::string& precision, std::int64_t steps, icl::RiskEstimate& r) {
  CheckRun run("gpt2(3, 2, 64)", 5, 10, device);
  run.setup.options.steps = steps;
  run.setup.options.lr = 1e-3;
  run.setup.options.schedule = icl::TrainOptions::Schedule::cosine;
  run.setup.options.precision = icl::parse_precision(precision);
  const icl::SampledOutcome out = icl::train_sampled(run.setup);
  if (out.status != icl::TrainingStatus::trained) {
    std::printf("gpt2(3, 2, 64) on %s, %s: %s\n", device.c_str(), precision.c_str(),
                std::string(icl::to_string(out.status)).c_str());
    return false;
  }
  r = icl::test::held_out(run, out, 20000);
  std::printf("gpt2(3, 2, 64), d = 5, N = 10, %lld steps on %-7s %s: held-out error %.5f +- %.5f (zero predictor 5), "
              "training loss %.5f, %.1f s\n", static_cast<long long>(steps), device.c_str(), precision.c_str(), r.mean,
              r.se, out.loss_final, out.seconds);
  return true;
}

// Two devices, the same seed: exit 1 unless their held-out errors agree within three standard
// errors of the difference of two independent estimates.
int compare(const std::string& a, const std::string& b, std::int64_t steps) {
  icl::RiskEstimate r[2];
  if (!small_run(a, "fp32", steps, r[0]) || !small_run(b, "fp32", steps, r[1])) return 1;
  const double difference = r[0].mean - r[1].mean, bound = 3.0 * std::hypot(r[0].se, r[1].se);
  const bool same = std::abs(difference) <= bound;
  std::printf("difference %+.5f, three standard errors %.5f: %s\n", difference, bound,
              same ? "the same error within the Monte-Carlo error" : "DIFFERENT");
  return same ? 0 : 1;
}

// The precisions' trade-off in accuracy on one device: each one's held-out error against fp32's
// (what they cost in time is `step`'s). Exit 1 only when a training fails.
int precisions(const std::string& device, std::int64_t steps) {
  icl::RiskEstimate fp32, other;
  if (!small_run(device, "fp32", steps, fp32)) return 1;
  for (const char* precision : {"tf32", "bf16"}) {
    if (!small_run(device, precision, steps, other)) return 1;
    std::printf("  %s - fp32: %+.5f +- %.5f\n", precision, other.mean - fp32.mean, std::hypot(other.se, fp32.se));
  }
  return 0;
}

int step(const std::string& device, const std::string& precision) {
  const auto seconds_of = [&](std::int64_t steps) {
    CheckRun run("gpt2(12, 8, 256)", 20, 40, device);
    run.setup.options.steps = steps;
    run.setup.options.lr = 1e-4;
    run.setup.options.batch = 64;
    run.setup.options.precision = icl::parse_precision(precision);
    const auto start = std::chrono::steady_clock::now();
    const icl::SampledOutcome out = icl::train_sampled(run.setup);
    if (out.status != icl::TrainingStatus::trained) std::printf("  (the run ended %s)\n", std::string(icl::to_string(out.status)).c_str());
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  // A run of `few` steps pays the set-up (model, first CUDA kernels); the difference to one of
  // `few + timed` steps is `timed` steps.
  const std::int64_t few = 10, timed = device == "cpu" ? 20 : 200;
  std::vector<double> per_step;
  for (int round = 0; round < 3; ++round) {
    const double a = seconds_of(few), b = seconds_of(few + timed);
    per_step.push_back((b - a) / static_cast<double>(timed));
  }
  std::sort(per_step.begin(), per_step.end());
  const double median = per_step[1];
  std::printf("gpt2(12, 8, 256), d = 20, N = 40, batch 64, %s, %s: %.2f ms a step (median of 3; %.2f to %.2f)\n",
              device.c_str(), precision.c_str(), 1e3 * median, 1e3 * per_step[0], 1e3 * per_step[2]);
  std::printf("the paper's run, 500,000 such steps: %.1f hours (its curriculum's shorter early prompts make it less)\n",
              500000.0 * median / 3600.0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() >= 3 && args[0] == "compare")
    return compare(args[1], args[2], args.size() > 3 ? std::atoll(args[3].c_str()) : 4000);
  if (args.size() >= 2 && args[0] == "precisions")
    return precisions(args[1], args.size() > 2 ? std::atoll(args[2].c_str()) : 4000);
  if (args.size() >= 2 && args[0] == "step") return step(args[1], args.size() > 2 ? args[2] : "fp32");
  std::fprintf(stderr, "usage: gpu_check compare DEVICE_A DEVICE_B [STEPS] | gpu_check precisions DEVICE [STEPS] | "
               "gpu_check step DEVICE [fp32|tf32|bf16]\n");
  return 2;
}
