// Double precision: y[i] = sqrt(x[i]) / (1 + x[i]) + fma(x, x, 0.5), and a conversion round trip.
extern "C" __global__ void double_math(const double* x, double* y, float* f, long long* q, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        double v = x[i];
        y[i] = sqrt(v) / (1.0 + v) + fma(v, v, 0.5);
        f[i] = (float) v;
        q[i] = (long long) (v * 1000.0);
    }
}
