// Sum of x[0..n): a grid-stride partial sum per thread, a warp reduction with shuffles, one atomic
// per warp into *out.
extern "C" __global__ void reduce_shfl(const float* x, float* out, int n)
{
    float sum = 0.0f;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
        sum += x[i];
    }
    for (int offset = 16; offset > 0; offset >>= 1) {
        sum += __shfl_down_sync(0xffffffffu, sum, offset);
    }
    if ((threadIdx.x & 31) == 0) {
        atomicAdd(out, sum);
    }
}

// Integer sum with a butterfly (xor) shuffle, ballot and warp-level vote, one result per warp:
// out[warp] = sum of the warp's values; flags[warp] = ballot of (v odd); all[warp] = __all_sync(v >= 0).
extern "C" __global__ void warp_vote(const int* v, int* out, unsigned* flags, int* all)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int x = v[i];
    int s = x;
    for (int mask = 16; mask > 0; mask >>= 1) {
        s += __shfl_xor_sync(0xffffffffu, s, mask);
    }
    unsigned odd = __ballot_sync(0xffffffffu, x & 1);
    int nonNegative = __all_sync(0xffffffffu, x >= 0);
    int any = __any_sync(0xffffffffu, x == 7);
    int first = __shfl_sync(0xffffffffu, x, 0);
    int up = __shfl_up_sync(0xffffffffu, x, 1);
    if ((threadIdx.x & 31) == 0) {
        int w = i / 32;
        out[w] = s;
        flags[w] = odd;
        all[w] = nonNegative | (any << 1) | ((first == x) << 2);
    }
    if ((threadIdx.x & 31) == 5) {
        out[gridDim.x * blockDim.x / 32 + i / 32] = up;
    }
}
