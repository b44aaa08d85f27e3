// Reverses each block's slice of x into y through dynamic shared memory (blockDim.x floats).
extern "C" __global__ void reverse_block(const float* x, float* y, int n)
{
    extern __shared__ float s[];
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    s[threadIdx.x] = i < n ? x[i] : 0.0f;
    __syncthreads();
    int j = blockIdx.x * blockDim.x + (blockDim.x - 1 - threadIdx.x);
    if (j < n) {
        y[j] = s[threadIdx.x];
    }
}
