#!/usr/bin/env bash
# Every test, from a fresh Debian 12 machine: install, then
#   1. the Release build of the CLI and the test binary, and the unit tests (ctest -L unit), after
#      `npm ci` in tests/tokenizer-ref for the tokenizer comparisons against tiktoken,
#      llama3-tokenizer-js and the official Hugging Face tokenizers;
#   2. the same unit tests under AddressSanitizer + UBSan (build-asan; the demo end-to-end test is
#      left out there, where it would take about 5x as long);
#   3. the libFuzzer targets for a bounded time (build-fuzz, clang);
#   4. the benchmarks are compiled (not run), so that they keep building.
# Each stage's wall time is printed as it ends and in a summary at the end (also on failure).
# LAVENDER_TEST_QUICK=1 runs step 1 only; LAVENDER_FUZZ_SECONDS sets step 3's time per target.
# With $CI set, a failed `npm ci` is a failure (CI must compare with the reference tokenizers);
# elsewhere the comparison is skipped with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=$(nproc)

stage_names=()
stage_seconds=()
stage_name=""
stage_start=0
stage() {  # stage NAME: ends the running stage (recording its time) and starts NAME
  if [ -n "$stage_name" ]; then
    stage_names+=("$stage_name")
    stage_seconds+=($((SECONDS - stage_start)))
    echo "== $stage_name: $((SECONDS - stage_start)) s"
  fi
  stage_name=$1
  stage_start=$SECONDS
  [ -n "$stage_name" ] && echo "== $stage_name ($(date +%T), ${SECONDS} s since start)"
  return 0
}
summary() {
  local status=$?
  [ -n "$stage_name" ] && stage ""
  echo "== stage times (wall)"
  for i in "${!stage_names[@]}"; do
    printf '   %-40s %5d s\n' "${stage_names[$i]}" "${stage_seconds[$i]}"
  done
  printf '   %-40s %5d s  (%s)\n' "total" "$SECONDS" "$([ $status = 0 ] && echo passed || echo FAILED)"
}
trap summary EXIT

stage "setup"
scripts/setup.sh

stage "Release build (CLI, tests)"
BUILD_TARGETS="lavender lavender_tests" scripts/build.sh

stage "reference tokenizers (npm ci)"
# tiktoken, llama3-tokenizer-js and tokenizers (Hugging Face's Rust library through its Node
# binding) for the tokenizer comparison tests, from npm's cache when it has them.
if ! (cd tests/tokenizer-ref && npm ci --prefer-offline --no-audit --no-fund --loglevel=error); then
  if [ -n "${CI:-}" ] && [ "${CI}" != 0 ] && [ "${CI}" != false ]; then
    echo "error: npm ci in tests/tokenizer-ref failed, and CI must compare our tokenizers with" \
         "the reference ones (is the npm registry reachable?)" >&2
    exit 1
  fi
  echo "warning: npm ci in tests/tokenizer-ref failed; the tokenizer comparisons will be skipped"
fi

stage "unit tests (Release)"
ctest --test-dir build -L unit -j "$JOBS" --output-on-failure

if [ "${LAVENDER_TEST_QUICK:-0}" = 1 ]; then exit 0; fi

stage "sanitizer build (ASan + UBSan)"
BUILD_DIR=build-asan BUILD_TYPE=RelWithDebInfo BUILD_TARGETS="lavender lavender_tests" \
  scripts/build.sh -DLAVENDER_SANITIZE=ON -DLAVENDER_BUILD_BENCH=OFF

stage "unit tests under ASan + UBSan"
ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
  ctest --test-dir build-asan -L unit -LE demo -j "$JOBS" --output-on-failure

stage "fuzz build (clang)"
cmake -S . -B build-fuzz -G Ninja -DLAVENDER_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLAVENDER_FUZZ_SECONDS="${LAVENDER_FUZZ_SECONDS:-60}"
cmake --build build-fuzz

stage "fuzzing (${LAVENDER_FUZZ_SECONDS:-60} s per target)"
ctest --test-dir build-fuzz -L fuzz -j "$JOBS" --output-on-failure

stage "benchmarks compile (Release)"
cmake --build build

stage ""
echo "== all tests passed"
