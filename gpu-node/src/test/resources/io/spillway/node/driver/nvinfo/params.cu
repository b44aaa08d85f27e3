// The kernels NvInfoTest reads from params.cubin (build.sh rebuilds it): one parameter of each kind.
struct Pair { double a; double b; };
struct Small { int x; char c; };
extern "C" __global__ void mixed(float* out, int n, float scale, Pair p, char tag, Small s, double d) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = scale * (float)(p.a + p.b + tag + s.x + s.c + d);
}
extern "C" __global__ void none() {}
