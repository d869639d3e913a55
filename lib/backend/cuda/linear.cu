/* linear.cu: Linear layers through cuBLAS sgemm.
 *
 * cuBLAS is column-major; our matrices are row-major. A row-major [r, c] matrix with leading
 * dimension c is, byte for byte, the column-major [c, r] matrix: its transpose. So every product
 * is computed transposed:
 *   forward   Y[n,out] = X[n,in] W[out,in]^T   <=>  Y^T[out,n] = W[out,in] X^T[in,n]
 *             sgemm(T, N, m=out, n=n, k=in, A=W (col-major [in,out], lda=in), B=X (col [in,n], ldb=in),
 *                   C=Y (col [out,n], ldc=out))
 *   weights   dW[out,in] = dY^T[out,n] X[n,in] <=>  dW^T[in,out] = X^T[in,n] dY[n,out]
 *             sgemm(N, T, m=in, n=out, k=n, A=X (col [in,n], lda=in), B=dY (col [out,n], ldb=out),
 *                   C=dW (col [in,out], ldc=in))
 *   input     dX[n,in] = dY[n,out] W[out,in]   <=>  dX^T[in,n] = W^T[in,out] dY^T[out,n]
 *             sgemm(N, N, m=in, n=n, k=out, A=W (col [in,out], lda=in), B=dY (col [out,n], ldb=out),
 *                   C=dX (col [in,n], ldc=in))
 * The bias is broadcast into Y first and the forward GEMM adds onto it (beta = 1), as on the CPU.
 * The bias gradient is a column sum, one thread per output in batch order (deterministic). */
#include "backend/cuda/cuda_backend.h"

__global__ void bias_fill_kernel(float *y, const float *b, int n, int out)
{
    size_t total = (size_t)n * out;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x)
        y[i] = b[i % out];
}

__global__ void col_sum_kernel(const float *g, float *db, int n, int out)
{
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= out) return;
    double s = 0.0;
    for (int i = 0; i < n; i++) s += g[(size_t)i * out + j];
    db[j] = (float)s;
}

int cuda_linear_fwd(void *ctx, const tensor *x, const tensor *w, const tensor *b, tensor *y)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    int n = x->shape[0], in = (int)(tensor_numel(x) / (size_t)n), out = w->shape[0];
    const float one = 1.0f, zero = 0.0f;
    if (b) LAUNCH_RET(c, bias_fill_kernel, cuda_blocks((size_t)n * out), CUDA_THREADS, (float *)y->data,
                      (const float *)b->data, n, out);
    BLAS_RET(c, cublasSgemm(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &one, (const float *)w->data, in,
                         (const float *)x->data, in, b ? &one : &zero, (float *)y->data, out));
    return C_OK;
}

int cuda_linear_bwd(void *ctx, const tensor *x, const tensor *w, const tensor *dy, tensor *dx, tensor *dw, tensor *db)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    int n = x->shape[0], in = (int)(tensor_numel(x) / (size_t)n), out = w->shape[0];
    const float one = 1.0f, zero = 0.0f;
    const float *g = (const float *)dy->data;
    BLAS_RET(c, cublasSgemm(c->blas, CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, &one, (const float *)x->data, in, g, out,
                         &zero, (float *)dw->data, in));
    if (db) LAUNCH_RET(c, col_sum_kernel, (out + 127) / 128, 128, g, (float *)db->data, n, out);
    if (dx)
        BLAS_RET(c, cublasSgemm(c->blas, CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, &one, (const float *)w->data, in, g, out,
                             &zero, (float *)dx->data, in));
    return C_OK;
}
