#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite (CTest + Qt Test; GUI tests
# offscreen). Screenshots land in build/tests/out/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${TAILOR_BUILD_DIR:-$root/build}"
"$root/scripts/setup.sh"
cd "$build"
# Serial: each test already uses every core (libtorch + OpenMP); running two at
# once oversubscribes the cores and OpenMP spin-waits make both 40x slower.
ctest --output-on-failure --timeout 900
