#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: install, build the `lavender` CLI (only what it
# links: no tests, no benchmarks), then `lavender demo` — the whole method on the embedded shapes
# world (no downloads), ending in demo-out/report.html.
# Arguments go to `lavender demo` (e.g. --quick, --out DIR, --seeds N, --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD_TARGETS=lavender scripts/build.sh
build/lavender demo "$@"
