#!/usr/bin/env bash
# Gathers, on a Debian machine with the project's packages (scripts/install-deps.sh), what the GPU
# check needs on a GPU machine that has PyTorch with CUDA, a compiler and CMake but no Debian
# packages: Eigen's headers and CMake files, and GoogleTest's sources. Writes gpu-deps/ (ignored
# by git, about 14 MB), which scripts/gpu-check.sh reads.
set -euo pipefail
cd "$(dirname "$0")/.."
out=gpu-deps
rm -rf "$out"
mkdir -p "$out/eigen3/include" "$out/eigen3/share/eigen3"
cp -r /usr/include/eigen3 "$out/eigen3/include/"
cp -r /usr/share/eigen3/cmake "$out/eigen3/share/eigen3/"
cp -r /usr/src/googletest "$out/googletest"
du -sh "$out"
