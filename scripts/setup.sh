#!/usr/bin/env bash
# Installs every system package lavender needs to build, test and run, on Debian 12.
# Idempotent: a second run installs nothing and only re-checks the BLAS selection.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  # compiler cache: rebuilds of unchanged sources (another clone, the next CI run) are hits
  ccache
  # LibTorch 1.13 (CPU) and the JSON library
  libtorch-dev nlohmann-json3-dev
  # tokenizers: Unicode classes and normalisation (ICU), gzip'd vocabularies (zlib),
  # SentencePiece tokenizer.model files (libsentencepiece, loaded through a plugin)
  libicu-dev zlib1g-dev libsentencepiece-dev
  # images
  libpng-dev libjpeg-dev
  # an optimised BLAS: Debian's default reference libblas3 is ~50x slower for matmul
  libopenblas0-openmp
  # c10d/Gloo for multi-process training
  libgloo-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # the demo report's rendering test (headless)
  chromium
  # fuzzing (libFuzzer) with clang
  clang libclang-rt-14-dev
)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all ${#PACKAGES[@]} packages present"
fi

# node + npm run the reference tokenizers (tiktoken, llama3-tokenizer-js) that the tokenizer test
# and benchmark compare against. A node from elsewhere (e.g. NodeSource, which bundles npm and
# conflicts with Debian's npm package) is used as it is.
if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
  echo "setup: installing nodejs npm"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends nodejs npm
fi

# LibTorch links the generic libblas.so.3 / liblapack.so.3; make sure they resolve to OpenBLAS.
arch_dir=/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
for lib in libblas.so.3 liblapack.so.3; do
  target="$arch_dir/openblas-openmp/$lib"
  name="$lib-$(basename "$arch_dir")"
  if [ -e "$target" ] && [ "$(readlink -f "$arch_dir/$lib")" != "$(readlink -f "$target")" ]; then
    echo "setup: selecting OpenBLAS for $lib"
    $SUDO update-alternatives --set "$name" "$target"
  fi
done
