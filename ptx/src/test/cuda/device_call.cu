// A __device__ function that nvcc keeps as a .func and calls.
__device__ __noinline__ float poly(float x, int degree)
{
    float acc = 0.0f;
    for (int d = degree; d >= 0; --d) {
        acc = acc * x + (float) (d + 1);
    }
    return acc;
}

__device__ __noinline__ int clamp_index(int i, int n)
{
    return i < 0 ? 0 : (i >= n ? n - 1 : i);
}

extern "C" __global__ void device_call(const float* x, float* y, int n, int degree)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        y[i] = poly(x[clamp_index(i + 1, n)], degree);
    }
}
