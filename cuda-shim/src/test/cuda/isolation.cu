// Two processes on one card: the first prints a device pointer it wrote a secret to and waits; the
// second, given that address, must not be able to read or overwrite it.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cstdint>
#include <unistd.h>
int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "owner") == 0) {
    uint64_t* d;
    const uint64_t secret = 0x5ec12e75ec12e7ull;
    if (cudaMalloc(&d, 8) != cudaSuccess) { printf("FAIL owner cudaMalloc\n"); return 1; }
    cudaMemcpy(d, &secret, 8, cudaMemcpyHostToDevice);
    printf("ADDRESS %llx\n", (unsigned long long)(uintptr_t)d);
    fflush(stdout);
    char line[16];
    if (fgets(line, sizeof line, stdin) == nullptr) return 1;  // the test says when the other one is done
    uint64_t back = 0;
    cudaMemcpy(&back, d, 8, cudaMemcpyDeviceToHost);
    if (back != secret) { printf("FAIL the secret changed to %llx\n", (unsigned long long)back); return 1; }
    printf("PASS owner: secret intact\n");
    return 0;
  }
  uint64_t addr = strtoull(argv[2], nullptr, 16);
  uint64_t got = 0;
  cudaError_t r = cudaMemcpy(&got, (void*)(uintptr_t)addr, 8, cudaMemcpyDeviceToHost);
  if (r == cudaSuccess) { printf("FAIL read another process's memory: %llx\n", (unsigned long long)got); return 1; }
  uint64_t junk = 0;
  cudaError_t w = cudaMemcpy((void*)(uintptr_t)addr, &junk, 8, cudaMemcpyHostToDevice);
  cudaError_t s = cudaDeviceSynchronize();
  if (w == cudaSuccess && s == cudaSuccess) { printf("FAIL wrote another process's memory\n"); return 1; }
  printf("PASS intruder: read %d, write %d/%d\n", (int)r, (int)w, (int)s);
  return 0;
}
