#!/usr/bin/env bash
# Rebuilds the committed PTX of the kernel library. CI has no nvcc and uses the committed file, so run
# this after every change to src/main/cuda and commit both.
# compute_90 PTX is JIT-compiled by the driver on load for the card it runs on (Hopper and later).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/src/main/resources/io/spillway/kernels/spillway_kernels.ptx"
mkdir -p "$(dirname "$out")"
src="$here/src/main/cuda/spillway_kernels.cu"
"${NVCC:-nvcc}" -ptx -arch=compute_90 -O3 -o "$out.tmp" "$src"
# The module descriptor: the source's pointer-access lines, first in the PTX's leading comments.
{ grep '^// spillway\.pointer-access ' "$src"; cat "$out.tmp"; } > "$out"
rm -f "$out.tmp"
grep -o '\.entry [a-z_0-9]*' "$out"
