#!/usr/bin/env bash
# Rebuilds the committed PTX of the executor's test corpus (src/test/cuda/*.cu) with nvcc, at nvcc's
# default optimization, for compute_90 as the kernel library does. CI has no nvcc and runs the
# committed files, so run this after changing a .cu file and commit both.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/src/test/resources/io/spillway/ptx/corpus"
mkdir -p "$out"
for cu in "$here"/src/test/cuda/*.cu; do
  name=$(basename "$cu" .cu)
  "${NVCC:-nvcc}" -ptx -arch=compute_90 -o "$out/$name.ptx" "$cu"
  echo "$name: $(grep -c '\.entry' "$out/$name.ptx") entries"
done
