/* hostdev.h: OPS_HD marks the small functions of the lib/ops headers that the host C code and, under
 * nvcc, the CUDA kernels both compile, so an op's maths is written once. */
#ifndef BACKEND_HOSTDEV_H
#define BACKEND_HOSTDEV_H

#ifdef __CUDACC__
#define OPS_HD __host__ __device__ static inline
#else
#define OPS_HD static inline
#endif

#endif
