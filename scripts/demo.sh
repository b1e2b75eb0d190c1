#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: install, build, run.
# (Until the embedded shapes-world demo lands, the main job is `lavender info`.)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
build/lavender info
