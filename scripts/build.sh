#!/usr/bin/env bash
# Configures and builds lavender (Release) into ${BUILD_DIR:-build}. Extra arguments go to CMake,
# e.g. scripts/build.sh -DCMAKE_PREFIX_PATH=/path/to/libtorch for another LibTorch.
# BUILD_TARGETS="lavender" builds only those targets (and what they link); default: everything.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-Release} "$@"
targets=()
for t in ${BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$BUILD_DIR" "${targets[@]}"
