// Several host threads share the process's primary context: each allocates its own buffers, copies,
// launches on its own stream and checks every element, many rounds over. Exit 0 and "PASS" on success.
// It exercises the shim's locking; the agent's tests also run it against the shim under ThreadSanitizer.
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>
#include <atomic>

__global__ void scale_add(const float* a, float* c, float k, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) c[i] = k * a[i] + 1.0f;
}

static std::atomic<int> failures{0};

static void fail(int t, const char* what, cudaError_t e) {
  printf("FAIL thread %d %s: %s (%d)\n", t, what, cudaGetErrorString(e), (int)e);
  failures++;
}

static void worker(int t, int n, int rounds) {
  size_t bytes = (size_t)n * sizeof(float);
  std::vector<float> ha(n), hc(n);
  for (int i = 0; i < n; i++) ha[i] = (float)(i % 1000);
  float *a = nullptr, *c = nullptr;
  cudaStream_t s;
  cudaError_t e;
  if ((e = cudaStreamCreate(&s)) != cudaSuccess) { fail(t, "cudaStreamCreate", e); return; }
  if ((e = cudaMalloc(&a, bytes)) != cudaSuccess) { fail(t, "cudaMalloc a", e); return; }
  if ((e = cudaMalloc(&c, bytes)) != cudaSuccess) { fail(t, "cudaMalloc c", e); return; }
  for (int r = 0; r < rounds; r++) {
    float k = (float)(t + 1);
    if ((e = cudaMemcpyAsync(a, ha.data(), bytes, cudaMemcpyHostToDevice, s)) != cudaSuccess) { fail(t, "H2D", e); return; }
    scale_add<<<(n + 127) / 128, 128, 0, s>>>(a, c, k, n);
    if ((e = cudaGetLastError()) != cudaSuccess) { fail(t, "launch", e); return; }
    if ((e = cudaMemcpyAsync(hc.data(), c, bytes, cudaMemcpyDeviceToHost, s)) != cudaSuccess) { fail(t, "D2H", e); return; }
    if ((e = cudaStreamSynchronize(s)) != cudaSuccess) { fail(t, "cudaStreamSynchronize", e); return; }
    for (int i = 0; i < n; i++) {
      float want = k * (float)(i % 1000) + 1.0f;
      if (hc[i] != want) {
        printf("FAIL thread %d round %d at %d: %f, expected %f\n", t, r, i, hc[i], want);
        failures++;
        return;
      }
    }
  }
  cudaFree(a);
  cudaFree(c);
  cudaStreamDestroy(s);
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 4;
  int n = argc > 2 ? atoi(argv[2]) : 4096;
  int rounds = argc > 3 ? atoi(argv[3]) : 5;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; t++) ts.emplace_back(worker, t, n, rounds);
  for (auto& t : ts) t.join();
  if (failures.load() != 0) return 1;
  printf("PASS threads threads=%d n=%d rounds=%d\n", threads, n, rounds);
  return 0;
}
