// Signed and unsigned division and remainder, with the bit operations nvcc maps to single instructions.
extern "C" __global__ void int_divmod(const int* a, const int* b, int* q, int* r, unsigned* u, int* bits, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        int x = a[i];
        int y = b[i];
        q[i] = x / y;
        r[i] = x % y;
        unsigned ux = (unsigned) x;
        unsigned uy = (unsigned) y;
        u[2 * i] = ux / uy;
        u[2 * i + 1] = ux % uy;
        bits[4 * i] = __popc(ux);
        bits[4 * i + 1] = __clz(x);
        bits[4 * i + 2] = (int) __brev(ux);
        bits[4 * i + 3] = min(x, y) * 3 + max(x, y) + abs(x) + (x >> 3) + (int) (ux >> 5);
    }
}

// 64-bit division and remainder, and a signed 64-bit multiply-high.
extern "C" __global__ void long_divmod(const long long* a, const long long* b, long long* out, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        long long x = a[i];
        long long y = b[i];
        out[3 * i] = x / y;
        out[3 * i + 1] = x % y;
        out[3 * i + 2] = __mul64hi(x, y);
    }
}
