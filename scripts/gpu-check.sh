#!/usr/bin/env bash
# The GPU check (README, "GPUs"), on a machine with an NVIDIA GPU and PyTorch with CUDA (its
# libtorch and CMake files), a C++20 compiler and CMake; MPI, HDF5 and Boost are not needed: it
# builds the core, the sampled models and their tests alone (ICL_BUILD_PROGRAM=OFF) against PyTorch's
# libtorch, then
#   1. runs the models' tests on cuda (ICL_TEST_DEVICE=cuda);
#   2. trains gpt2(3, 2, 64) at d = 5 on cuda and on cpu with the same seed and compares their
#      held-out errors on the same prompts (within three Monte-Carlo standard errors);
#   2b. trains it on cuda in fp32, tf32 and bf16: the precisions' held-out errors against fp32's;
#   3. times a training step of gpt2(12, 8, 256) at d = 20, N = 40, batch 64 on the GPU, in
#      fp32, tf32 and bf16, beside PyTorch from Python (bench/gpt2_step.py) with the same
#      deterministic algorithms the C++ trainer uses on a GPU (failing where the C++ step is slower);
#   4. prints the wall time of one paper-scale GPT-2 run (500,000 steps) at that rate.
# Usage: bash scripts/gpu-check.sh [DEPS]
#   DEPS (default gpu-deps): Eigen and GoogleTest for a machine without them (scripts/gpu-deps.sh
#   makes it on Debian); PYTHON: the interpreter with torch (default python3).
# Exits non-zero when a step fails; the last line says which. Under 10 minutes on one H100.
set -uo pipefail
cd "$(dirname "$0")/.."
deps=$(realpath -m "${1:-gpu-deps}")
python=${PYTHON:-python3}
start=$SECONDS
failed=()
step() { echo; echo "== $* ($((SECONDS - start)) s)"; }
check() { "$@" || failed+=("$*"); }

step "the machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
nproc
$python - <<'PY' || { echo "gpu-check: $python has no torch with CUDA"; exit 1; }
import torch
print("PyTorch", torch.__version__, "CUDA", torch.version.cuda, "cxx11 ABI", torch.compiled_with_cxx11_abi())
assert torch.cuda.is_available(), "torch.cuda.is_available() is False"
print(torch.cuda.get_device_name(0), "devices:", torch.cuda.device_count())
PY

step "build (ICL_BUILD_PROGRAM=OFF) against PyTorch's libtorch"
prefix=$($python -c 'import torch; print(torch.utils.cmake_prefix_path)')
args=(-DCMAKE_BUILD_TYPE=Release -DICL_BUILD_PROGRAM=OFF)
[ -d "$deps/eigen3" ] && prefix="$prefix;$deps/eigen3"
[ -d "$deps/googletest" ] && args+=("-DICL_GTEST_SOURCE=$deps/googletest")
# A CUDA libtorch's CMake files (Caffe2's cuda.cmake) need the CUDA toolkit: nvcc, of the major
# version PyTorch was built with, for the runtime's headers. NVTX from the toolkit
# (USE_SYSTEM_NVTX: libtorch 2.4-2.7 with CUDA 12.9 otherwise miss CUDA::nvToolsExt), and the
# GPU's own architecture (no probing).
nvcc=$(command -v nvcc || ls "${CUDA_HOME:-/usr/local/cuda}/bin/nvcc" 2>/dev/null || true)
if [ -z "$nvcc" ]; then
  echo "gpu-check: FAILED: no nvcc (the CUDA toolkit) on PATH or in \$CUDA_HOME/bin: a CUDA libtorch's CMake files need it"
  exit 1
fi
"$nvcc" --version | tail -2
torch_cuda=$($python -c 'import torch; print(torch.version.cuda)')
arch=$($python -c 'import torch; print("%d.%d" % torch.cuda.get_device_capability(0))')
echo "nvcc $nvcc; PyTorch built with CUDA $torch_cuda; GPU architecture $arch"
args+=("-DCMAKE_CUDA_COMPILER=$nvcc" "-DCUDAToolkit_ROOT=$(dirname "$(dirname "$nvcc")")" -DUSE_SYSTEM_NVTX=ON
       "-DTORCH_CUDA_ARCH_LIST=$arch")
cmake -S . -B build-gpu "${args[@]}" "-DCMAKE_PREFIX_PATH=$prefix" > build-gpu.log 2>&1 &&
  cmake --build build-gpu -j"$(nproc)" --target model_tests gpu_check >> build-gpu.log 2>&1
status=$?
grep -E "icl-sweep:|Error|error:" build-gpu.log | head -40
if [ $status -ne 0 ]; then
  tail -40 build-gpu.log
  echo "gpu-check: FAILED: the build (build-gpu.log)"
  exit 1
fi

step "1. the models' tests on cuda"
# The trainer sets cuBLAS's workspace before its first product; some tests multiply before they
# train, so the process starts with it.
check env ICL_TEST_DEVICE=cuda CUBLAS_WORKSPACE_CONFIG=:4096:8 timeout 300 build-gpu/tests/model_tests --gtest_brief=1

step "2. gpt2(3, 2, 64), d = 5: cuda against cpu, the same seed"
check timeout 240 build-gpu/tests/gpu_check compare cuda cpu 4000

step "2b. the precisions' accuracy: gpt2(3, 2, 64), d = 5, in fp32, tf32 and bf16 on cuda"
check timeout 180 build-gpu/tests/gpu_check precisions cuda 4000

step "3. a training step of gpt2(12, 8, 256), d = 20, N = 40, batch 64"
# The target: the C++ step at least as fast as PyTorch's from Python, in each precision.
ms() { grep -o '[0-9.]* ms a step' | head -1 | cut -d' ' -f1; }
for precision in fp32 tf32 bf16; do
  cpp=$(timeout 150 build-gpu/tests/gpu_check step cuda $precision 2>&1) || failed+=("gpu_check step cuda $precision")
  echo "$cpp"
  py=$(timeout 150 $python bench/gpt2_step.py --device cuda --precision $precision --deterministic 2>&1) ||
    failed+=("gpt2_step.py $precision")
  echo "$py"
  a=$(echo "$cpp" | ms) b=$(echo "$py" | ms)
  if [ -n "$a" ] && [ -n "$b" ]; then
    verdict=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }')
    echo "$precision: C++ $a ms, PyTorch from Python $b ms a step (both deterministic): the C++ step $verdict times as fast"
    awk -v a="$a" -v b="$b" 'BEGIN { exit !(a <= b) }' || failed+=("$precision: the C++ step slower than PyTorch's")
  else
    failed+=("$precision: no step time to compare")
  fi
done

# For the record: PyTorch as most users run it, without deterministic algorithms.
timeout 150 $python bench/gpt2_step.py --device cuda --precision fp32

echo
echo "gpu-check: $((SECONDS - start)) s"
if [ ${#failed[@]} -ne 0 ]; then
  printf 'gpu-check: FAILED: %s\n' "${failed[@]}"
  exit 1
fi
echo "gpu-check: passed"
