// Memory without kernels: device properties, copies both ways (small and large), device-to-device,
// memsets of 8/16/32 bits, cudaMemGetInfo. Exit 0 and "PASS" on success.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cstdint>

#define CHECK(call)                                                                 \
  do {                                                                              \
    cudaError_t e_ = (call);                                                        \
    if (e_ != cudaSuccess) {                                                        \
      printf("FAIL %s: %s (%d)\n", #call, cudaGetErrorString(e_), (int)e_);         \
      return 1;                                                                     \
    }                                                                               \
  } while (0)

int main() {
  int count = 0;
  CHECK(cudaGetDeviceCount(&count));
  cudaDeviceProp p;
  CHECK(cudaGetDeviceProperties(&p, 0));
  printf("device 0 of %d: %s, compute %d.%d, %zu bytes\n", count, p.name, p.major, p.minor, p.totalGlobalMem);
  size_t free0, total;
  CHECK(cudaMemGetInfo(&free0, &total));
  if (total != p.totalGlobalMem) { printf("FAIL cudaMemGetInfo total %zu != %zu\n", total, p.totalGlobalMem); return 1; }
  const size_t n = 24u << 20;  // larger than one chunk of the shared memory region
  uint8_t* h = (uint8_t*)malloc(n);
  uint8_t* back = (uint8_t*)malloc(n);
  for (size_t i = 0; i < n; i++) h[i] = (uint8_t)(i * 7 + 3);
  uint8_t *d1, *d2;
  CHECK(cudaMalloc(&d1, n));
  CHECK(cudaMalloc(&d2, n));
  size_t free1;
  CHECK(cudaMemGetInfo(&free1, &total));
  if (free0 - free1 != 2 * n) { printf("FAIL free went from %zu to %zu for %zu bytes\n", free0, free1, 2 * n); return 1; }
  CHECK(cudaMemcpy(d1, h, n, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(back, d1, n, cudaMemcpyDeviceToHost));
  if (memcmp(h, back, n) != 0) { printf("FAIL large round trip differs\n"); return 1; }
  uint32_t word = 0;
  CHECK(cudaMemcpy(&word, d1 + 4, 4, cudaMemcpyDeviceToHost));
  uint32_t expect;
  memcpy(&expect, h + 4, 4);
  if (word != expect) { printf("FAIL 4-byte read %08x, expected %08x\n", word, expect); return 1; }
  CHECK(cudaMemcpy(d2, d1, n, cudaMemcpyDeviceToDevice));
  CHECK(cudaMemcpy(back, d2, n, cudaMemcpyDeviceToHost));
  if (memcmp(h, back, n) != 0) { printf("FAIL device-to-device copy differs\n"); return 1; }
  CHECK(cudaMemset(d2, 0xab, 1000));
  CHECK(cudaMemcpy(back, d2, 1001, cudaMemcpyDeviceToHost));
  for (int i = 0; i < 1000; i++) if (back[i] != 0xab) { printf("FAIL memset8 at %d\n", i); return 1; }
  if (back[1000] != h[1000]) { printf("FAIL memset8 wrote past its end\n"); return 1; }
  cudaStream_t s;
  CHECK(cudaStreamCreate(&s));
  CHECK(cudaMemcpyAsync(d1, h + 100, 4096, cudaMemcpyHostToDevice, s));
  CHECK(cudaStreamSynchronize(s));
  CHECK(cudaMemcpy(back, d1, 4096, cudaMemcpyDeviceToHost));
  if (memcmp(back, h + 100, 4096) != 0) { printf("FAIL async copy differs\n"); return 1; }
  CHECK(cudaStreamDestroy(s));
  CHECK(cudaFree(d1));
  CHECK(cudaFree(d2));
  CHECK(cudaDeviceSynchronize());
  printf("PASS memory\n");
  return 0;
}
