#!/bin/sh
# Rebuilds params.cubin, the cubin NvInfoTest reads the parameter layouts of. Needs nvcc (no GPU).
set -eu
cd "$(dirname "$0")"
nvcc -cubin -arch=sm_80 -o params.cubin params.cu
