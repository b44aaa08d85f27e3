// Adds two vectors on the GPU and checks every element on the host. Exit 0 and "PASS" on success.
#include <cstdio>
#include <cstdlib>

#define CHECK(call)                                                                 \
  do {                                                                              \
    cudaError_t e_ = (call);                                                        \
    if (e_ != cudaSuccess) {                                                        \
      printf("FAIL %s: %s (%d)\n", #call, cudaGetErrorString(e_), (int)e_);         \
      return 1;                                                                     \
    }                                                                               \
  } while (0)

__global__ void vector_add(const float* a, const float* b, float* c, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) c[i] = a[i] + b[i];
}

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 100000;
  int rounds = argc > 2 ? atoi(argv[2]) : 1;
  size_t bytes = (size_t)n * sizeof(float);
  float* ha = (float*)malloc(bytes);
  float* hb = (float*)malloc(bytes);
  float* hc = (float*)malloc(bytes);
  for (int i = 0; i < n; i++) { ha[i] = (float)i; hb[i] = 2.0f * i; }
  float *a, *b, *c;
  CHECK(cudaMalloc(&a, bytes));
  CHECK(cudaMalloc(&b, bytes));
  CHECK(cudaMalloc(&c, bytes));
  for (int r = 0; r < rounds; r++) {
    CHECK(cudaMemcpy(a, ha, bytes, cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(b, hb, bytes, cudaMemcpyHostToDevice));
    CHECK(cudaMemset(c, 0, bytes));
    vector_add<<<(n + 255) / 256, 256>>>(a, b, c, n);
    CHECK(cudaGetLastError());
    CHECK(cudaMemcpy(hc, c, bytes, cudaMemcpyDeviceToHost));
    for (int i = 0; i < n; i++) {
      if (hc[i] != 3.0f * i) { printf("FAIL round %d at %d: %f, expected %f\n", r, i, hc[i], 3.0f * i); return 1; }
    }
  }
  CHECK(cudaFree(a));
  CHECK(cudaFree(b));
  CHECK(cudaFree(c));
  printf("PASS vector_add n=%d rounds=%d\n", n, rounds);
  return 0;
}
