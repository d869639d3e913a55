/* scale.cu: y = s * x (ops/scale.h) on the elementwise kernel. */
#include "backend/cuda/elementwise.cuh"

struct scale_f {
    float s;
    __device__ float operator()(float x) const { return scale_value(x, s); }
};

int cuda_scale(void *ctx, const tensor *x, tensor *y, float s) { return cuda_map(ctx, scale_f{s}, y, x); }
