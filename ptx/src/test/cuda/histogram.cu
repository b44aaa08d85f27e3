// 256-bin histogram of bytes: per-block bins in shared memory, merged into global bins with atomics.
extern "C" __global__ void histogram(const unsigned char* data, int n, unsigned int* bins)
{
    __shared__ unsigned int local[256];
    for (int b = threadIdx.x; b < 256; b += blockDim.x) {
        local[b] = 0;
    }
    __syncthreads();
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
        atomicAdd(&local[data[i]], 1u);
    }
    __syncthreads();
    for (int b = threadIdx.x; b < 256; b += blockDim.x) {
        if (local[b] != 0) {
            atomicAdd(&bins[b], local[b]);
        }
    }
}

// The other atomics on one global word each: out[0] max, out[1] min, out[2] and, out[3] or,
// out[4] xor, out[5] exch (any value), out[6] cas counter, out[7] inc with wrap, out[8] dec with wrap.
extern "C" __global__ void atomics(const int* v, int n, int* out)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) {
        return;
    }
    int x = v[i];
    atomicMax(&out[0], x);
    atomicMin(&out[1], x);
    atomicAnd(&out[2], x | 0x10);
    atomicOr(&out[3], x & 0xff);
    atomicXor(&out[4], x);
    atomicExch(&out[5], 1);
    int old = out[6];
    int assumed;
    do {
        assumed = old;
        old = atomicCAS(&out[6], assumed, assumed + 1);
    } while (old != assumed);
    atomicInc((unsigned int*) &out[7], 9u);
    atomicDec((unsigned int*) &out[8], 9u);
}
