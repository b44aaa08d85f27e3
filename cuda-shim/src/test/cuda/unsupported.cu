// Calls something the pool does not do (managed memory): it must fail with an error, never succeed.
#include <cstdio>
int main() {
  void* p = nullptr;
  cudaError_t e = cudaMallocManaged(&p, 1 << 20);
  if (e == cudaSuccess) { printf("FAIL cudaMallocManaged succeeded\n"); return 1; }
  printf("PASS unsupported: cudaMallocManaged returned %d (%s)\n", (int)e, cudaGetErrorName(e));
  return 0;
}
