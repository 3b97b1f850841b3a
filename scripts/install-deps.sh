#!/usr/bin/env bash
# Installs every Debian 12 package the project builds, tests and analyses with (as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  build-essential cmake \
  libopenmpi-dev openmpi-bin libeigen3-dev libhdf5-dev hdf5-tools libboost-program-options-dev \
  googletest libgtest-dev libbenchmark-dev \
  python3 python3-numpy python3-h5py python3-matplotlib python3-pandas python3-xarray python3-pytest \
  libtorch-dev libopenblas0-pthread python3-torch chromium \
  slurm-wlm munge >/dev/null

# The analysis package icl_sweep, importable by Debian's python3 from this checkout.
site=$(/usr/bin/python3 -c 'import site; print(site.getsitepackages()[0])')
mkdir -p "$site"
cd "$(dirname "$0")/.." && pwd > "$site/icl_sweep.pth"
