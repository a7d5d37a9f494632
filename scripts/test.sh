#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite (CTest + Qt Test; GUI tests
# offscreen). Screenshots land in build/tests/out/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${TAILOR_BUILD_DIR:-$root/build}"
"$root/scripts/setup.sh"
cd "$build"
ctest --output-on-failure --timeout 900 -j2
