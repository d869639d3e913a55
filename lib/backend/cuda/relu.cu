/* relu.cu: ReLU forward and backward (ops/relu.h) on the elementwise kernel. */
#include "backend/cuda/elementwise.cuh"

struct relu_fwd_f { __device__ float operator()(float x) const { return relu_value(x); } };
struct relu_bwd_f { __device__ float operator()(float y, float g) const { return relu_grad(y, g); } };

int cuda_relu_fwd(void *ctx, const tensor *x, tensor *y) { return cuda_map(ctx, relu_fwd_f(), y, x); }
int cuda_relu_bwd(void *ctx, const tensor *y, const tensor *dy, tensor *dx) { return cuda_map(ctx, relu_bwd_f(), dx, y, dy); }
