#!/usr/bin/env bash
# Every test, from a fresh Debian 12 machine: install, build, then
#   1. the unit tests (ctest -L unit) on the Release build (after `npm ci` in tests/tokenizer-ref
#      for the tokenizer comparison against tiktoken),
#   2. the same unit tests under AddressSanitizer + UBSan (build-asan),
#   3. the libFuzzer targets for a bounded time (build-fuzz, clang).
# LAVENDER_TEST_QUICK=1 runs step 1 only; LAVENDER_FUZZ_SECONDS sets step 3's time per target.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=$(nproc)
scripts/setup.sh

stage() { echo "== $* ($(date +%T), ${SECONDS}s since start)"; }
stage "build and unit tests"
scripts/build.sh
# The reference tokenizers (tiktoken, llama3-tokenizer-js) for the tokenizer comparison test;
# from npm's cache when it has them. Without them that test skips with the reason.
(cd tests/tokenizer-ref && npm ci --prefer-offline --no-audit --no-fund --loglevel=error) ||
  echo "warning: npm ci in tests/tokenizer-ref failed; the tiktoken comparison will be skipped"
ctest --test-dir build -L unit -j "$JOBS" --output-on-failure
stage "unit tests done"

if [ "${LAVENDER_TEST_QUICK:-0}" = 1 ]; then exit 0; fi

stage "unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
BUILD_DIR=build-asan BUILD_TYPE=RelWithDebInfo scripts/build.sh \
  -DLAVENDER_SANITIZE=ON -DLAVENDER_BUILD_BENCH=OFF
ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
  ctest --test-dir build-asan -L unit -LE demo -j "$JOBS" --output-on-failure

stage "fuzzing (${LAVENDER_FUZZ_SECONDS:-60} s per target)"
cmake -S . -B build-fuzz -G Ninja -DLAVENDER_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLAVENDER_FUZZ_SECONDS="${LAVENDER_FUZZ_SECONDS:-60}"
cmake --build build-fuzz
ctest --test-dir build-fuzz -L fuzz -j "$JOBS" --output-on-failure
stage "all tests passed"
