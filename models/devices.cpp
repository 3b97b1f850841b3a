// The devices the sampled models train on: whether one can be used, what it is, and the CUDA
// numerics a run asks for (deterministic algorithms, TF32 on or off).
#include <cstdlib>
#include <map>
#include <mutex>

#include "torch_model.hpp"

#ifdef ICL_TORCH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

namespace icl {

namespace {
// cuBLAS's GEMMs are deterministic with a fixed workspace, which libtorch reads from the
// environment at its first matrix product (a user's own setting is kept). Set where the sweep
// first asks for its GPUs, on the main thread before any other starts, and again before a run.
void fix_cublas_workspace() { ::setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", 0); }
}  // namespace

int cuda_devices() {
  fix_cublas_workspace();
  return torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
}

bool device_available(const std::string& device, std::string& why) {
  try {
    const torch::Device dev(device);
    if (dev.is_cpu()) return true;
    if (!dev.is_cuda()) {
      why = "only cpu and cuda devices are supported";
      return false;
    }
    const int visible = cuda_devices();
    if (visible == 0) {
#ifdef ICL_TORCH_CUDA
      why = "no CUDA device is visible to this process (CUDA_VISIBLE_DEVICES; under Slurm --gpus-per-task or --gres)";
#else
      why = "this build's libtorch has no CUDA (a CPU build: README, \"GPUs\", says how to build against a CUDA one)";
#endif
      return false;
    }
    if (dev.has_index() && dev.index() >= visible) {
      why = "cuda:" + std::to_string(dev.index()) + " is not among the " + std::to_string(visible) + " CUDA device(s) visible";
      return false;
    }
    return true;
  } catch (const std::exception&) {
    why = "not a device name (cpu, cuda, cuda:N)";
    return false;
  }
}

std::string device_name(const std::string& device) {
  const torch::Device dev(device);
  if (!dev.is_cuda()) return "cpu";
#ifdef ICL_TORCH_CUDA
  static std::mutex mutex;
  static std::map<int, std::string> names;
  const std::lock_guard lock(mutex);
  const int index = dev.has_index() ? dev.index() : 0;
  auto found = names.find(index);
  if (found == names.end()) found = names.emplace(index, at::cuda::getDeviceProperties(index)->name).first;
  return found->second;
#else
  return "cuda";
#endif
}

namespace models {

void use_cuda_numerics(TrainOptions::Precision precision) {
  fix_cublas_workspace();
  auto& context = at::globalContext();
  // Deterministic algorithms where libtorch has them; an operation without one throws rather than
  // differ run to run (docs/interface.md, "Determinism").
  context.setDeterministicAlgorithms(true, false);
  context.setBenchmarkCuDNN(false);
  const bool tf32 = precision == TrainOptions::Precision::tf32;
  context.setAllowTF32CuBLAS(tf32);
  context.setAllowTF32CuDNN(tf32);
}

}  // namespace models
}  // namespace icl
