/* elementwise.cuh: the one grid-stride kernel of the elementwise ops, written once:
 * out[i] = f(a[i], b[i], ...) over the first input's elements, f a functor (a struct with a
 * __device__ operator(), so nvcc needs no extended lambdas). An op's .cu is its functors and
 * one cuda_map call per entry; out may be one of the inputs. */
#ifndef CUDA_ELEMENTWISE_CUH
#define CUDA_ELEMENTWISE_CUH
#include "backend/cuda/cuda_backend.h"

template <class F, class... In> __global__ void map_kernel(F f, float *out, size_t n, In... in)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        out[i] = f(in[i]...);
}

template <class F, class... T> static inline int cuda_map(void *ctx, F f, tensor *out, const tensor *a, const T *...rest)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    size_t n = tensor_numel(a);
    LAUNCH_RET(c, map_kernel, cuda_blocks(n), CUDA_THREADS, f, (float *)out->data, n, (const float *)a->data,
               (const float *)rest->data...);
    return C_OK;
}
#endif
