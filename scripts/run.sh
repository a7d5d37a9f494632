#!/usr/bin/env bash
# Sets up, then opens the workbench on the bundled demo model (tinystories-12L).
# --headless (or no display): the same main job through tailor-cli: model
# summary, perplexity, and the block-importance scan with a drop suggestion.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${TAILOR_BUILD_DIR:-$root/build}"
"$root/scripts/setup.sh"
model="$root/resources/models/tinystories-12L"
if [ "${1:-}" != "--headless" ] && { [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; }; then
  exec "$build/app/tailor" "$model"
fi
cli="$build/app/tailor-cli"
summary="$(mktemp)"
"$cli" info "$model" > "$summary"   # (not piped into head: pipefail would stop on SIGPIPE)
head -6 "$summary"
rm -f "$summary"
echo
"$cli" eval "$model" --text "$root/resources/data/tinystories-valid-99.txt" --seq-len 256
echo
"$cli" blocks "$model" --calib "$root/resources/data/tinystories-calib-50.txt" --suggest 3
