// A data-dependent branch inside a warp: odd and even values take different loops of different
// lengths, then the warp reconverges and exchanges results with a shuffle.
extern "C" __global__ void divergent(const int* v, int* out, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int x = i < n ? v[i] : 0;
    int acc = 0;
    if (x & 1) {
        for (int k = 0; k < x; ++k) {
            acc += k * 3;
        }
    } else {
        int k = x;
        while (k > 1) {
            k = (k & 1) ? 3 * k + 1 : k / 2;
            acc++;
        }
    }
    unsigned active = __activemask();
    int neighbour = __shfl_xor_sync(0xffffffffu, acc, 1);
    if (i < n) {
        out[2 * i] = acc;
        out[2 * i + 1] = neighbour + (active == 0xffffffffu ? 0 : 1000000);
    }
}
