// y[i] = a * x[i] * x[i] + y[i] for every i < n, whatever the grid size.
extern "C" __global__ void grid_stride(float a, const float* x, float* y, long n)
{
    for (long i = blockIdx.x * (long) blockDim.x + threadIdx.x; i < n; i += (long) blockDim.x * gridDim.x) {
        y[i] = a * x[i] * x[i] + y[i];
    }
}
