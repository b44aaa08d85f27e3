// Benchmark of the CUDA calls a program makes, through whatever libcuda.so.1 it loads. Prints
// "RESULT <name> <value> <unit>" lines for the harness (bench module, ShimBench). With a socket path as the
// second argument it also measures a plain Unix-socket round trip and bulk transfer against the harness's
// echo server, the baseline of the same run.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static double now() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

#define CHECK(call)                                                                  \
  do {                                                                               \
    cudaError_t e_ = (call);                                                         \
    if (e_ != cudaSuccess) { printf("FAIL %s: %s\n", #call, cudaGetErrorString(e_)); return 1; } \
  } while (0)

__global__ void empty_kernel(int* p) {
  if (p != nullptr && threadIdx.x == 1024) *p = 1;
}

static int plain_socket(const char* path, int iters, size_t bulk) {
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  strncpy(a.sun_path, path, sizeof a.sun_path - 1);
  if (connect(s, (sockaddr*)&a, sizeof a) != 0) { perror("connect"); return 1; }
  char b[8] = {0};
  double t0 = now();
  for (int i = 0; i < iters; i++) {
    if (write(s, b, 4) != 4) return 1;
    size_t got = 0;
    while (got < 4) { ssize_t r = read(s, b + got, 4 - got); if (r <= 0) return 1; got += r; }
  }
  printf("RESULT socket_rtt_us %.2f us\n", (now() - t0) / iters * 1e6);
  // bulk: 'B' then size, the server reads everything and answers one byte
  char* buf = (char*)malloc(1 << 20);
  memset(buf, 7, 1 << 20);
  for (int round = 0; round < 3; round++) {
    t0 = now();
    char op = 'B';
    uint64_t n = bulk;
    if (write(s, &op, 1) != 1 || write(s, &n, 8) != 8) return 1;
    for (size_t sent = 0; sent < bulk;) {
      ssize_t w = write(s, buf, bulk - sent < (1u << 20) ? bulk - sent : (1u << 20));
      if (w <= 0) return 1;
      sent += w;
    }
    if (read(s, b, 1) != 1) return 1;
    if (round == 2) printf("RESULT socket_bulk_gbs %.3f GB/s\n", bulk / (now() - t0) / 1e9);
  }
  close(s);
  return 0;
}

int main(int argc, char** argv) {
  int iters = argc > 1 ? atoi(argv[1]) : 2000;
  size_t bulk = 64u << 20;
  int* d;
  CHECK(cudaMalloc(&d, 4));
  int v = 0;
  for (int i = 0; i < 100; i++) CHECK(cudaMemcpy(&v, d, 4, cudaMemcpyDeviceToHost));  // warm-up
  double t0 = now();
  for (int i = 0; i < iters; i++) CHECK(cudaMemcpy(&v, d, 4, cudaMemcpyDeviceToHost));
  printf("RESULT d2h4_us %.2f us\n", (now() - t0) / iters * 1e6);
  t0 = now();
  for (int i = 0; i < iters; i++) CHECK(cudaDeviceSynchronize());
  printf("RESULT sync_us %.2f us\n", (now() - t0) / iters * 1e6);
  void* ps[256];
  t0 = now();
  int mallocs = 0;
  for (int r = 0; r < iters / 256 + 1; r++) {
    for (int i = 0; i < 256; i++) { CHECK(cudaMalloc(&ps[i], 4096)); mallocs++; }
    for (int i = 0; i < 256; i++) CHECK(cudaFree(ps[i]));
  }
  printf("RESULT malloc_us %.2f us (with its free)\n", (now() - t0) / mallocs * 1e6);
  int launches = iters * 50;
  empty_kernel<<<1, 32>>>(nullptr);
  CHECK(cudaDeviceSynchronize());
  t0 = now();
  for (int i = 0; i < launches; i++) empty_kernel<<<1, 32>>>(nullptr);
  double issued = now() - t0;
  CHECK(cudaDeviceSynchronize());
  double total = now() - t0;
  printf("RESULT launch_issue_per_s %.0f launches/s\n", launches / issued);
  printf("RESULT launch_done_per_s %.0f launches/s\n", launches / total);
  char* h = (char*)malloc(bulk);
  memset(h, 3, bulk);
  char* db;
  CHECK(cudaMalloc(&db, bulk));
  double h2d = 0, d2h = 0;
  for (int round = 0; round < 3; round++) {
    t0 = now();
    CHECK(cudaMemcpy(db, h, bulk, cudaMemcpyHostToDevice));
    CHECK(cudaDeviceSynchronize());
    h2d = bulk / (now() - t0) / 1e9;
    t0 = now();
    CHECK(cudaMemcpy(h, db, bulk, cudaMemcpyDeviceToHost));
    d2h = bulk / (now() - t0) / 1e9;
  }
  printf("RESULT h2d_gbs %.3f GB/s\n", h2d);
  printf("RESULT d2h_gbs %.3f GB/s\n", d2h);
  if (argc > 2 && plain_socket(argv[2], iters, bulk) != 0) { printf("FAIL plain socket\n"); return 1; }
  printf("PASS shim_bench\n");
  return 0;
}
