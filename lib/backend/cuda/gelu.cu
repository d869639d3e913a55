/* gelu.cu: GELU forward and backward (ops/gelu.h) on the elementwise kernel: the header's float
 * functions, so the bits are the CPU's. */
#include "backend/cuda/elementwise.cuh"

struct gelu_fwd_f { __device__ float operator()(float x) const { return gelu_value(x); } };
struct gelu_bwd_f { __device__ float operator()(float x, float g) const { return gelu_grad(x, g); } };

int cuda_gelu_fwd(void *ctx, const tensor *x, tensor *y) { return cuda_map(ctx, gelu_fwd_f(), y, x); }
int cuda_gelu_bwd(void *ctx, const tensor *x, const tensor *dy, tensor *dx) { return cuda_map(ctx, gelu_bwd_f(), dx, x, dy); }
