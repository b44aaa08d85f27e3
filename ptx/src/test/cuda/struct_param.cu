// A struct passed by value: the kernel reads its fields from the parameter space.
struct Affine {
    float scale;
    float shift;
    int n;
    double bias;
    char tag;
};

extern "C" __global__ void affine(Affine p, const float* x, float* y)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < p.n) {
        y[i] = x[i] * p.scale + p.shift + (float) p.bias + (float) p.tag;
    }
}
