// Asks for more device memory than the slice has: cudaMalloc must fail with cudaErrorMemoryAllocation.
#include <cstdio>
int main() {
  size_t free_bytes, total;
  cudaError_t e = cudaMemGetInfo(&free_bytes, &total);
  if (e != cudaSuccess) { printf("FAIL cudaMemGetInfo: %s\n", cudaGetErrorString(e)); return 1; }
  void* p = nullptr;
  e = cudaMalloc(&p, total + (1u << 20));
  if (e != cudaErrorMemoryAllocation) {
    printf("FAIL cudaMalloc of %zu bytes on a slice of %zu returned %d (%s)\n", total + (1u << 20), total, (int)e,
           cudaGetErrorString(e));
    return 1;
  }
  void* q = nullptr;
  e = cudaMalloc(&q, 1 << 20);  // the context goes on: a small allocation still works
  if (e != cudaSuccess) { printf("FAIL small cudaMalloc after the refused one: %s\n", cudaGetErrorString(e)); return 1; }
  printf("PASS over_slice: cudaErrorMemoryAllocation for %zu bytes on a slice of %zu\n", total + (1u << 20), total);
  return 0;
}
