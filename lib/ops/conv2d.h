/* conv2d.h: the convolution op's contract shared by the model-file checker, both backends and
 * the tests (PyTorch Conv2d: symmetric zero padding, floor output size). */
#ifndef OPS_CONV2D_H
#define OPS_CONV2D_H

#ifdef __CUDACC__
#define CONV2D_HD __host__ __device__ static inline
#else
#define CONV2D_HD static inline
#endif

/* Output rows (or columns) of a convolution; 0 when the kernel does not fit the padded input. */
CONV2D_HD int conv2d_out_size(int in, int kernel, int stride, int pad)
{
    return in + 2 * pad < kernel ? 0 : (in + 2 * pad - kernel) / stride + 1;
}

#endif
