// Spillway's kernel library. float32, row-major, one thread per output element.
// The host driver runs the committed PTX on its executor: a change here needs a rebuild of that PTX
// (kernels/build-ptx.sh), and nothing else.
//
// Each kernel's "spillway.pointer-access" line says what it does with each parameter: in (reads only),
// out (writes before reading), inout, or - (a value). build-ptx.sh copies these lines into the PTX's
// leading comments, the module descriptor the SDK reads to fill in the access of pointers passed
// without one, so that a gateway can rebuild sessions that use the library.

// spillway.pointer-access vector_add in,in,out,-
extern "C" __global__ void vector_add(const float* a, const float* b, float* c, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        c[i] = a[i] + b[i];
    }
}

// spillway.pointer-access saxpy -,in,inout,-
extern "C" __global__ void saxpy(float alpha, const float* x, float* y, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        y[i] = alpha * x[i] + y[i];
    }
}

// y[batch][out] = x[batch][in] . w[in][out] + bias[out], then ReLU when relu != 0.
// x dimension of the grid covers out (adjacent threads read adjacent w columns: coalesced),
// y dimension covers batch.
// spillway.pointer-access dense in,in,in,out,-,-,-,-
extern "C" __global__ void dense(const float* x, const float* w, const float* bias, float* y,
                                 int batch, int in, int out, int relu)
{
    int col = blockIdx.x * blockDim.x + threadIdx.x;
    int row = blockIdx.y * blockDim.y + threadIdx.y;
    if (row >= batch || col >= out) {
        return;
    }
    const float* xr = x + (size_t) row * in;
    float acc = bias[col];
    for (int k = 0; k < in; ++k) {
        acc += xr[k] * w[(size_t) k * out + col];
    }
    if (relu != 0 && acc < 0.0f) {
        acc = 0.0f;
    }
    y[(size_t) row * out + col] = acc;
}

// Row-wise softmax, one thread per row; subtracts the row max so exp never overflows.
// spillway.pointer-access softmax in,out,-,-
extern "C" __global__ void softmax(const float* x, float* y, int rows, int cols)
{
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) {
        return;
    }
    const float* xr = x + (size_t) r * cols;
    float* yr = y + (size_t) r * cols;
    float m = -INFINITY;
    for (int c = 0; c < cols; ++c) {
        m = fmaxf(m, xr[c]);
    }
    float sum = 0.0f;
    for (int c = 0; c < cols; ++c) {
        float e = expf(xr[c] - m);
        yr[c] = e;
        sum += e;
    }
    float inv = 1.0f / sum;
    for (int c = 0; c < cols; ++c) {
        yr[c] *= inv;
    }
}

// spillway.pointer-access fill_f32 out,-,-
extern "C" __global__ void fill_f32(float* p, float value, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        p[i] = value;
    }
}
