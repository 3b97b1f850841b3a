#!/usr/bin/env bash
# Installs every Debian 12 package the project builds, tests and analyses with (as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  build-essential cmake \
  libopenmpi-dev openmpi-bin libeigen3-dev libhdf5-dev hdf5-tools libboost-program-options-dev \
  googletest libgtest-dev libbenchmark-dev \
  python3 python3-numpy python3-h5py python3-matplotlib python3-pandas \
  libtorch-dev libopenblas0-pthread python3-torch \
  slurm-wlm munge >/dev/null
